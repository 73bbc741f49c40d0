// Package pulumitest runs Pulumi programs and components under the engine's mocks,
// records every resource they declare, and exports that record as a resource graph.
// The mocks answer with realistic ids, ARNs and endpoints so that outputs which feed
// other resources (a role ARN in a task definition, a secret ARN in a policy) resolve
// to values a test can assert on.
package pulumitest

import (
	"crypto/sha256"
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Project is the Pulumi project name used for URNs under mocks.
const Project = "meshtrace"

// mockAccountJSON holds the fake account and region that the mocks put into ARNs, shared with
// checks/awsapi.
//
//go:embed mockaccount.json
var mockAccountJSON []byte

// Fake account and region that the mocks put into ARNs (mockaccount.json).
var Account, Region = mockAccount()

func mockAccount() (string, string) {
	var m struct{ Account, Region string }
	if err := json.Unmarshal(mockAccountJSON, &m); err != nil || m.Account == "" || m.Region == "" {
		panic(fmt.Sprintf("pulumitest: mockaccount.json: %v", err))
	}
	return m.Account, m.Region
}

// Resource is one resource the program registered.
type Resource struct {
	Type         string
	Name         string
	URN          string
	Parent       string // parent URN; empty for the stack's direct children
	Custom       bool
	Inputs       resource.PropertyMap
	Dependencies []string // URNs
	// Resource options that change how the engine treats the resource.
	Protect             bool
	DeleteBeforeReplace bool
	RetainOnDelete      bool
	IgnoreChanges       []string // input paths the engine leaves alone on updates
}

// Mocks implements pulumi.MockResourceMonitor and records what it sees.
type Mocks struct {
	project, stack string

	mu           sync.Mutex
	resources    []Resource
	stackOutputs map[string]map[string]any // what a StackReference to each stack reads
}

// NewMocks returns mocks for a stack.
func NewMocks(stack string) *Mocks { return &Mocks{project: Project, stack: stack} }

// NewProjectMocks returns mocks for a stack of another Pulumi project (RunProject).
func NewProjectMocks(project, stack string) *Mocks { return &Mocks{project: project, stack: stack} }

// NewResource records the resource and returns its id and outputs: its inputs plus
// the attributes the provider would compute.
func (m *Mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	parentURN := ""
	var deps []string
	rpc := args.RegisterRPC
	if rpc != nil {
		parentURN = rpc.GetParent()
		deps = append(deps, rpc.GetDependencies()...)
		sort.Strings(deps)
	}
	r := Resource{
		Type:                args.TypeToken,
		Name:                args.Name,
		URN:                 m.urn(parentURN, args.TypeToken, args.Name),
		Parent:              parentURN,
		Custom:              args.Custom,
		Inputs:              args.Inputs,
		Dependencies:        deps,
		Protect:             rpc.GetProtect(),
		DeleteBeforeReplace: rpc.GetDeleteBeforeReplace(),
		RetainOnDelete:      rpc.GetRetainOnDelete(),
		IgnoreChanges:       rpc.GetIgnoreChanges(),
	}
	if parentURN != "" && resource.URN(parentURN).QualifiedType() == resource.RootStackType {
		r.Parent = "" // the root stack resource
	}
	m.mu.Lock()
	m.resources = append(m.resources, r)
	m.mu.Unlock()

	if args.TypeToken == stackReferenceType {
		outs, err := m.readStackReference(args)
		return args.ID, outs, err
	}
	id := args.Name + "-id"
	outs := args.Inputs.Copy()
	if _, named := outs["name"]; !named && args.Custom {
		// Stands in for the provider's auto-naming.
		outs["name"] = resource.NewStringProperty(args.Name)
	}
	for k, v := range computedOutputs(args.TypeToken, args.Name, args.Inputs) {
		outs[resource.PropertyKey(k)] = resource.NewPropertyValue(v)
	}
	return id, outs, nil
}

// Call answers the invokes the program makes.
func (m *Mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	switch args.Token {
	case "aws:index/getRegion:getRegion":
		return resource.NewPropertyMapFromMap(map[string]any{"name": Region, "id": Region, "region": Region}), nil
	case "aws:index/getCallerIdentity:getCallerIdentity":
		return resource.NewPropertyMapFromMap(map[string]any{
			"accountId": Account, "arn": "arn:aws:iam::" + Account + ":user/test", "userId": "AIDTEST", "id": Account,
		}), nil
	case "aws:index/getPartition:getPartition":
		return resource.NewPropertyMapFromMap(map[string]any{"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}), nil
	case "aws:ec2/getRouteTables:getRouteTables":
		// The route tables awsx's Vpc declares: one per subnet (RouteTableIds).
		vpcId, _ := args.Args["vpcId"].V.(string)
		return resource.NewPropertyMapFromMap(map[string]any{"id": Region, "vpcId": vpcId, "ids": RouteTableIds}), nil
	}
	return nil, fmt.Errorf("pulumitest: no mock for invoke %s", args.Token)
}

// Resources returns what was registered, sorted by URN so that output is deterministic.
func (m *Mocks) Resources() []Resource {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := append([]Resource(nil), m.resources...)
	sort.Slice(out, func(i, j int) bool { return out[i].URN < out[j].URN })
	return out
}

// ByType returns the registered resources of one type token.
func (m *Mocks) ByType(token string) []Resource {
	var out []Resource
	for _, r := range m.Resources() {
		if r.Type == token {
			out = append(out, r)
		}
	}
	return out
}

// Find returns the resource with this type and name, or false.
func (m *Mocks) Find(token, name string) (Resource, bool) {
	for _, r := range m.Resources() {
		if r.Type == token && r.Name == name {
			return r, true
		}
	}
	return Resource{}, false
}

func (m *Mocks) urn(parent, typ, name string) string {
	parentType := ""
	if parent != "" {
		u := resource.URN(parent)
		if u.QualifiedType() != resource.RootStackType {
			parentType = string(u.QualifiedType()) + "$"
		}
	}
	return fmt.Sprintf("urn:pulumi:%s::%s::%s%s::%s", m.stack, m.project, parentType, typ, name)
}

// RouteTableIds are the route tables the mocks say a VPC has (ec2.getRouteTables).
var RouteTableIds = []any{"rtb-private-a", "rtb-private-b", "rtb-public-a", "rtb-public-b"}

// S3PrefixListId is the prefix list the mocks give an S3 gateway endpoint (us-east-1's).
const S3PrefixListId = "pl-63a5400a"

// RDSResourceID is the dbi resource id the mocks give the instance with this identifier:
// "db-" and 26 upper-case letters and digits, as RDS assigns one per instance.
func RDSResourceID(identifier string) string {
	return "db-" + strings.ToUpper(fmt.Sprintf("%x", sha256.Sum256([]byte(identifier))))[:26]
}

// Outputs returns what the mocks answered for a resource: its inputs plus the attributes
// they computed (ARNs, ARN suffixes, auto-names), as plain values.
func Outputs(r Resource) map[string]any {
	out := r.Plain()
	if _, named := out["name"]; !named && r.Custom {
		out["name"] = r.Name
	}
	for k, v := range computedOutputs(r.Type, r.Name, r.Inputs) {
		out[k] = v
	}
	return out
}

// computedOutputs returns the attributes AWS would compute for a resource, shaped like
// the real ones (ARN formats, endpoints), keyed by Pulumi property name.
func computedOutputs(token, name string, inputs resource.PropertyMap) map[string]any {
	str := func(key string) string {
		if v, ok := inputs[resource.PropertyKey(key)]; ok && v.IsString() {
			return v.StringValue()
		}
		return name
	}
	arn := func(service, resourcePart string) string {
		return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, Region, Account, resourcePart)
	}
	out := map[string]any{}
	switch token {
	case "awsx:ec2:Vpc":
		out["vpcId"] = "vpc-" + name
		out["publicSubnetIds"] = []any{"subnet-public-a", "subnet-public-b"}
		out["privateSubnetIds"] = []any{"subnet-private-a", "subnet-private-b"}
		out["isolatedSubnetIds"] = []any{}
	case "awsx:ecr:Image":
		out["imageUri"] = str("repositoryUrl") + "@sha256:" + strings.Repeat("ab", 32)
	case "aws:ecr/repository:Repository":
		out["arn"] = arn("ecr", "repository/"+str("name"))
		out["repositoryUrl"] = fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s", Account, Region, str("name"))
		out["registryId"] = Account
	case "aws:ec2/securityGroup:SecurityGroup":
		out["arn"] = arn("ec2", "security-group/sg-"+name)
	case "aws:rds/instance:Instance":
		id := str("identifier")
		out["arn"] = arn("rds", "db:"+id)
		out["address"] = id + ".abcdefghijkl." + Region + ".rds.amazonaws.com"
		out["endpoint"] = id + ".abcdefghijkl." + Region + ".rds.amazonaws.com:5432"
		out["resourceId"] = RDSResourceID(id)
		out["masterUserSecrets"] = []any{map[string]any{
			"secretArn":    arn("secretsmanager", "secret:rds!db-"+id+"-AbCdEf"),
			"secretStatus": "active",
			"kmsKeyId":     arn("kms", "key/aws-secretsmanager"),
		}}
	case "aws:rds/parameterGroup:ParameterGroup":
		out["arn"] = arn("rds", "pg:"+str("name"))
	case "aws:rds/subnetGroup:SubnetGroup":
		out["arn"] = arn("rds", "subgrp:"+str("name"))
	case "aws:iam/role:Role":
		out["arn"] = fmt.Sprintf("arn:aws:iam::%s:role/%s", Account, str("name"))
	case "aws:iam/policy:Policy":
		out["arn"] = fmt.Sprintf("arn:aws:iam::%s:policy/%s", Account, str("name"))
	case "aws:cloudwatch/logGroup:LogGroup":
		out["arn"] = arn("logs", "log-group:"+str("name"))
	case "aws:ecs/cluster:Cluster":
		out["arn"] = arn("ecs", "cluster/"+str("name"))
	case "aws:ecs/taskDefinition:TaskDefinition":
		out["arn"] = arn("ecs", "task-definition/"+str("family")+":1")
		out["revision"] = 1
	case "aws:ecs/service:Service":
		out["arn"] = arn("ecs", "service/"+str("name"))
	case "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace":
		out["arn"] = arn("servicediscovery", "namespace/ns-"+name)
		out["hostedZone"] = "Z" + strings.ToUpper(name)
	case "aws:servicediscovery/service:Service":
		out["arn"] = arn("servicediscovery", "service/srv-"+name)
	case "aws:appmesh/mesh:Mesh":
		out["arn"] = arn("appmesh", "mesh/"+str("name"))
	case "aws:appmesh/virtualNode:VirtualNode":
		out["arn"] = arn("appmesh", "mesh/"+str("meshName")+"/virtualNode/"+str("name"))
	case "aws:appmesh/virtualRouter:VirtualRouter":
		out["arn"] = arn("appmesh", "mesh/"+str("meshName")+"/virtualRouter/"+str("name"))
	case "aws:appmesh/virtualService:VirtualService":
		out["arn"] = arn("appmesh", "mesh/"+str("meshName")+"/virtualService/"+str("name"))
	case "aws:appmesh/route:Route":
		out["arn"] = arn("appmesh", "mesh/"+str("meshName")+"/virtualRouter/"+str("virtualRouterName")+"/route/"+str("name"))
	case "aws:lb/loadBalancer:LoadBalancer":
		out["arn"] = arn("elasticloadbalancing", "loadbalancer/app/"+name+"/0123456789abcdef")
		out["dnsName"] = name + "-1234567890." + Region + ".elb.amazonaws.com"
		out["arnSuffix"] = "app/" + name + "/0123456789abcdef"
		out["zoneId"] = "Z35SXDOTRQ7X7K"
	case "aws:lb/targetGroup:TargetGroup":
		out["arn"] = arn("elasticloadbalancing", "targetgroup/"+name+"/0123456789abcdef")
		out["arnSuffix"] = "targetgroup/" + name + "/0123456789abcdef"
	case "aws:lb/listener:Listener":
		out["arn"] = arn("elasticloadbalancing", "listener/app/"+name+"/0123456789abcdef")
	case "aws:ec2/vpcEndpoint:VpcEndpoint":
		out["arn"] = arn("ec2", "vpc-endpoint/vpce-"+name)
		if str("vpcEndpointType") == "Gateway" {
			out["prefixListId"] = S3PrefixListId
		} else {
			out["dnsEntries"] = []any{map[string]any{"dnsName": "vpce-" + name + "." + strings.TrimPrefix(str("serviceName"), "com.amazonaws.") + ".vpce.amazonaws.com", "hostedZoneId": "Z7HUB22UULQXV"}}
		}
	case "aws:ecr/pullThroughCacheRule:PullThroughCacheRule":
		out["registryId"] = Account
	case "aws:ec2/flowLog:FlowLog":
		out["arn"] = arn("ec2", "vpc-flow-log/fl-"+name)
	case "aws:s3/bucketV2:BucketV2":
		out["bucket"] = name
		out["arn"] = "arn:aws:s3:::" + name
	case "aws:acm/certificate:Certificate":
		out["arn"] = arn("acm", "certificate/"+name)
		out["domainValidationOptions"] = []any{map[string]any{
			"domainName": str("domainName"), "resourceRecordName": "_x1." + str("domainName") + ".",
			"resourceRecordType": "CNAME", "resourceRecordValue": "_x2.acm-validations.aws.",
		}}
	case "aws:acm/certificateValidation:CertificateValidation":
		out["certificateArn"] = str("certificateArn")
	case "aws:route53/record:Record":
		out["fqdn"] = str("name")
	case "aws:wafv2/webAcl:WebAcl":
		out["arn"] = fmt.Sprintf("arn:aws:wafv2:%s:%s:regional/webacl/%s/0123abcd", Region, Account, name)
	case "aws:xray/group:Group":
		out["arn"] = arn("xray", "group/"+str("groupName")+"/ABCDEF")
	case "aws:xray/samplingRule:SamplingRule":
		out["arn"] = arn("xray", "sampling-rule/"+str("ruleName"))
	case "aws:sns/topic:Topic":
		out["arn"] = arn("sns", str("name"))
	case "aws:sns/topicSubscription:TopicSubscription":
		out["arn"] = str("topic") + ":0123abcd-4567-89ef-0123-456789abcdef"
	case "aws:cloudwatch/metricAlarm:MetricAlarm":
		out["arn"] = arn("cloudwatch", "alarm:"+str("name"))
	case "aws:cloudwatch/dashboard:Dashboard":
		out["dashboardArn"] = fmt.Sprintf("arn:aws:cloudwatch::%s:dashboard/%s", Account, str("dashboardName"))
	case "aws:appautoscaling/target:Target":
		out["arn"] = arn("application-autoscaling", "scalable-target/0123456789abcdef")
	case "aws:appautoscaling/policy:Policy":
		out["arn"] = arn("autoscaling", "scalingPolicy:0123-4567:resource/ecs/"+str("resourceId")+":policyName/"+name)
		out["alarmArns"] = []any{}
	}
	return out
}
