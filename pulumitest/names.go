package pulumitest

import (
	"fmt"
	"sort"
)

// accountUniqueNames are the inputs that set a physical name AWS requires to be unique in
// an account and region, per resource type: two stacks (or two teams' programs) in one
// account must not share one of these.
var accountUniqueNames = map[string]string{
	"aws:appmesh/mesh:Mesh":                             "name",
	"aws:cloudwatch/dashboard:Dashboard":                "dashboardName",
	"aws:cloudwatch/logGroup:LogGroup":                  "name",
	"aws:cloudwatch/metricAlarm:MetricAlarm":            "name",
	"aws:ecr/pullThroughCacheRule:PullThroughCacheRule": "ecrRepositoryPrefix",
	"aws:ecr/repository:Repository":                     "name",
	"aws:ecs/cluster:Cluster":                           "name",
	"aws:ecs/taskDefinition:TaskDefinition":             "family",
	"aws:iam/role:Role":                                 "name",
	"aws:lb/loadBalancer:LoadBalancer":                  "name",
	"aws:lb/targetGroup:TargetGroup":                    "name",
	"aws:rds/instance:Instance":                         "identifier",
	"aws:rds/parameterGroup:ParameterGroup":             "name",
	"aws:rds/subnetGroup:SubnetGroup":                   "name",
	"aws:s3/bucketV2:BucketV2":                          "bucket",
	"aws:sns/topic:Topic":                               "name",
	"aws:wafv2/webAcl:WebAcl":                           "name",
	"aws:xray/group:Group":                              "groupName",
	"aws:xray/samplingRule:SamplingRule":                "ruleName",
}

// scopedNames are name-like inputs that are not account-wide names, with the reason.
var scopedNames = map[string]string{
	"aws:appmesh/route:Route.name":                                                                      "unique inside its mesh",
	"aws:appmesh/virtualNode:VirtualNode.name":                                                          "unique inside its mesh",
	"aws:appmesh/virtualRouter:VirtualRouter.name":                                                      "unique inside its mesh",
	"aws:appmesh/virtualService:VirtualService.name":                                                    "unique inside its mesh",
	"aws:servicediscovery/service:Service.name":                                                         "unique inside its namespace (the DNS name clients call)",
	"aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace.name":                                 "unique per VPC",
	"aws:route53/record:Record.name":                                                                    "a record of the user's own domain",
	"aws:rds/parameterGroup:ParameterGroup.family":                                                      "an engine family, not a name",
	"aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2.bucket":                       "names the bucket it configures",
	"aws:s3/bucketOwnershipControls:BucketOwnershipControls.bucket":                                     "names the bucket it configures",
	"aws:s3/bucketPolicy:BucketPolicy.bucket":                                                           "names the bucket it configures",
	"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock.bucket":                                     "names the bucket it configures",
	"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2.bucket": "names the bucket it configures",
}

// nameInputs are the input keys that set a physical name on some AWS resource type.
var nameInputs = []string{"name", "identifier", "family", "bucket", "groupName", "ruleName", "dashboardName", "ecrRepositoryPrefix"}

// PhysicalNames returns the account-unique physical names the program set explicitly
// (name -> the URNs that use it); resources it left to Pulumi's autonaming get a random
// suffix and cannot collide. It fails on a name-like input it cannot classify (a resource
// type new to the program): add it to accountUniqueNames or scopedNames.
func (m *Mocks) PhysicalNames() (map[string][]string, error) {
	names := map[string][]string{}
	var unknown []string
	for _, r := range m.Resources() {
		if !r.Custom {
			continue
		}
		in := r.Plain()
		for _, key := range nameInputs {
			v, set := in[key].(string)
			if !set {
				continue
			}
			switch {
			case accountUniqueNames[r.Type] == key:
				names[v] = append(names[v], r.URN)
			case scopedNames[r.Type+"."+key] != "":
			default:
				unknown = append(unknown, r.Type+"."+key)
			}
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("name inputs neither account-unique nor scoped (classify them in pulumitest/names.go): %v", unknown)
	}
	return names, nil
}

// SharedPhysicalNames lists the account-unique physical names that two programs both set.
func SharedPhysicalNames(a, b *Mocks) ([]string, error) {
	an, err := a.PhysicalNames()
	if err != nil {
		return nil, err
	}
	bn, err := b.PhysicalNames()
	if err != nil {
		return nil, err
	}
	var shared []string
	for name := range an {
		if _, ok := bn[name]; ok {
			shared = append(shared, name)
		}
	}
	sort.Strings(shared)
	return shared, nil
}
