package enginecheck

import "github.com/pulumi/pulumi/sdk/v3/go/common/resource"

// What forces a replacement, per resource type the program (or awsx on its behalf) declares:
// the properties marked ForceNew (SDKv2) or RequiresReplace (plugin framework) in the resource
// schemas of terraform-provider-aws, which pulumi-aws v6 bridges and whose bridge turns each of
// them into a replacement in Diff. The RDS instance and ECS service entries were checked line by
// line against internal/service/rds/instance.go and internal/service/ecs/service.go there
// (db_subnet_group_name is not ForceNew: ModifyDBInstance can move an instance to another DB
// subnet group, while the subnet group's own name is ForceNew; an ECS service's load balancers
// and service registries are updatable since provider 5.x, its name, cluster, launch type, IAM
// role and scheduling strategy are not); the others are written from the same schemas and the AWS API docs (what the Modify/Update call of
// each service cannot change) without that line-by-line check. An entry missing here makes a
// replacement show as an update in the printed plans; it cannot make the no-op test pass wrongly.
// Property names are Pulumi's (camelCase); a nested property forces a replacement through its
// top-level key. Tags never do.
var forceNew = map[string][]string{
	// RDS: the data lives here. dbName, engine, username, identifier, encryption and the
	// restore sources are fixed at CreateDBInstance.
	"aws:rds/instance:Instance": {
		"identifier", "identifierPrefix", "dbName", "engine", "username", "storageEncrypted", "kmsKeyId",
		"availabilityZone", "characterSetName", "ncharCharacterSetName", "timezone", "snapshotIdentifier",
		"restoreToPointInTime", "s3Import", "customIamInstanceProfile",
	},
	"aws:rds/subnetGroup:SubnetGroup":       {"name", "namePrefix"},
	"aws:rds/parameterGroup:ParameterGroup": {"name", "namePrefix", "family", "description"},

	// S3 (the access-log bucket, once the program has one).
	"aws:s3/bucket:Bucket":     {"bucket", "bucketPrefix", "objectLockEnabled"},
	"aws:s3/bucketV2:BucketV2": {"bucket", "bucketPrefix", "objectLockEnabled"},

	// EC2 and VPC (the security group's name, description and VPC cannot be changed by the API).
	"aws:ec2/securityGroup:SecurityGroup":                       {"name", "namePrefix", "description", "vpcId"},
	"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": {"securityGroupId"},
	"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":   {"securityGroupId"},
	"aws:ec2/vpc:Vpc":                                     {"cidrBlock", "ipv4IpamPoolId", "ipv4NetmaskLength"},
	"aws:ec2/subnet:Subnet":                               {"vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId", "outpostArn", "ipv6Native"},
	"aws:ec2/routeTable:RouteTable":                       {"vpcId"},
	"aws:ec2/routeTableAssociation:RouteTableAssociation": {"subnetId", "gatewayId"},
	"aws:ec2/route:Route":                                 {"routeTableId", "destinationCidrBlock", "destinationIpv6CidrBlock", "destinationPrefixListId"},
	"aws:ec2/eip:Eip":                                     {"domain", "publicIpv4Pool", "customerOwnedIpv4Pool", "networkBorderGroup", "address"},
	"aws:ec2/natGateway:NatGateway":                       {"subnetId", "allocationId", "connectivityType", "privateIp"},

	// ECS. Task definitions are immutable: see forceNewExcept.
	"aws:ecs/cluster:Cluster": {"name"},
	"aws:ecs/service:Service": {"name", "cluster", "launchType", "iamRole", "schedulingStrategy"},

	// Load balancing.
	"aws:lb/loadBalancer:LoadBalancer": {"name", "namePrefix", "internal", "loadBalancerType"},
	"aws:lb/targetGroup:TargetGroup":   {"name", "namePrefix", "port", "protocol", "protocolVersion", "vpcId", "targetType"},
	"aws:lb/listener:Listener":         {"loadBalancerArn"},

	// IAM, logs, ECR.
	"aws:iam/role:Role":                {"name", "namePrefix", "path"},
	"aws:iam/rolePolicy:RolePolicy":    {"name", "namePrefix", "role"},
	"aws:cloudwatch/logGroup:LogGroup": {"name", "namePrefix", "logGroupClass"},
	"aws:ecr/repository:Repository":    {"name", "encryptionConfigurations"},

	// Cloud Map, App Mesh, X-Ray.
	"aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace": {"name", "vpc", "description"},
	"aws:servicediscovery/service:Service":                         {"name", "namespaceId", "type", "healthCheckCustomConfig"},
	"aws:appmesh/mesh:Mesh":                                        {"name"},
	"aws:appmesh/virtualNode:VirtualNode":                          {"name", "meshName", "meshOwner"},
	"aws:appmesh/virtualRouter:VirtualRouter":                      {"name", "meshName", "meshOwner"},
	"aws:appmesh/virtualService:VirtualService":                    {"name", "meshName", "meshOwner"},
	"aws:appmesh/route:Route":                                      {"name", "meshName", "meshOwner", "virtualRouterName"},
	"aws:xray/group:Group":                                         {"groupName"},
	"aws:xray/samplingRule:SamplingRule":                           {"ruleName", "version"},
}

// Types where every property forces a replacement except these: an ECS task definition
// revision cannot be changed (RegisterTaskDefinition makes a new one; only tags can change).
var forceNewExcept = map[string][]string{
	"aws:ecs/taskDefinition:TaskDefinition": {"tags", "tagsAll", "skipDestroy", "trackLatest"},
}

// replaces reports whether a change of top-level property key on a resource of type typ
// forces a replacement.
func replaces(typ string, key resource.PropertyKey) bool {
	if key == "tags" || key == "tagsAll" {
		return false
	}
	if except, ok := forceNewExcept[typ]; ok {
		for _, k := range except {
			if string(key) == k {
				return false
			}
		}
		return true
	}
	for _, k := range forceNew[typ] {
		if string(key) == k {
			return true
		}
	}
	return false
}

// sensitive names the properties the providers' schemas mark secret (Sensitive in
// terraform-provider-aws, secret in docker-build's schema): a real provider returns them as
// secrets, so the fakes do too, and the state scan treats their values as secret even where a
// program passed them in plain.
var sensitive = map[resource.PropertyKey]bool{
	"password":       true,
	"masterPassword": true,
}
