"""Unit tests of the Pulumi -> AWS API translation (python3 -m unittest, run by awsapi_test.go)."""

import json
import unittest

import models
import translate
from graph import Graph, Resource


def resource(token, name, inputs):
    return Resource(type=token, name=name, urn=f"urn:{token}::{name}", inputs=inputs, custom=True)


def graph_of(*resources):
    return Graph(path="test.json", stack="dev", config={}, resources=list(resources))


def only_call(token, name, inputs, *others):
    r = resource(token, name, inputs)
    calls = translate.TRANSLATORS[token](r, graph_of(r, *others))
    return calls[0]


class TaskDefinitionTest(unittest.TestCase):
    def test_proxy_properties_and_tags_become_lists(self):
        call = only_call(
            "aws:ecs/taskDefinition:TaskDefinition",
            "app",
            {
                "family": "f",
                "containerDefinitions": json.dumps([{"name": "a", "image": "i", "memory": 128}]),
                "proxyConfiguration": {"type": "APPMESH", "containerName": "a", "properties": {"b": "2", "a": "1"}},
                "ephemeralStorage": {"sizeInGib": 30},
                "tags": {"k": "v"},
                "skipDestroy": True,
            },
        )
        self.assertEqual(call.params["proxyConfiguration"]["properties"], [{"name": "a", "value": "1"}, {"name": "b", "value": "2"}])
        self.assertEqual(call.params["ephemeralStorage"], {"sizeInGiB": 30})
        self.assertEqual(call.params["tags"], [{"key": "k", "value": "v"}])
        self.assertEqual(call.problems, [])
        self.assertEqual(models.validate("ecs", "RegisterTaskDefinition", call.params), [])

    def test_container_definitions_must_be_json(self):
        call = only_call("aws:ecs/taskDefinition:TaskDefinition", "app", {"family": "f", "containerDefinitions": "[{"})
        self.assertIn("is not valid JSON", call.problems[0])

    def test_an_unknown_input_is_reported_not_dropped(self):
        call = only_call("aws:ecs/cluster:Cluster", "c", {"name": "c", "brandNewInput": 1})
        self.assertEqual(call.problems, ["input 'brandNewInput' has no translation to the AWS API in checks/awsapi/translate.py"])


class ServiceTest(unittest.TestCase):
    def test_terraform_shapes_become_api_shapes(self):
        call = only_call(
            "aws:ecs/service:Service",
            "svc",
            {
                "cluster": "c",
                "enableEcsManagedTags": True,
                "networkConfiguration": {"subnets": ["s"], "securityGroups": ["g"], "assignPublicIp": False},
                "serviceRegistries": {"registryArn": "arn"},
                "deploymentCircuitBreaker": {"enable": True, "rollback": True},
                "deploymentMaximumPercent": 200,
                "serviceConnectConfiguration": {
                    "enabled": True,
                    "services": [{"portName": "http", "clientAlias": [{"port": 8080, "dnsName": "svc"}]}],
                },
                "waitForSteadyState": False,
            },
        )
        p = call.params
        self.assertEqual(p["serviceName"], "svc")
        self.assertTrue(p["enableECSManagedTags"])
        self.assertEqual(p["networkConfiguration"], {"awsvpcConfiguration": {"subnets": ["s"], "securityGroups": ["g"], "assignPublicIp": "DISABLED"}})
        self.assertEqual(p["serviceRegistries"], [{"registryArn": "arn"}])
        self.assertEqual(p["deploymentConfiguration"], {"deploymentCircuitBreaker": {"enable": True, "rollback": True}, "maximumPercent": 200})
        self.assertEqual(p["serviceConnectConfiguration"]["services"][0]["clientAliases"], [{"port": 8080, "dnsName": "svc"}])
        self.assertEqual(call.problems, [])
        self.assertEqual(models.validate("ecs", "CreateService", p), [])


class IamTest(unittest.TestCase):
    def test_role_policy_names_the_role_the_mocks_id_points_to(self):
        role = resource("aws:iam/role:Role", "exec", {"assumeRolePolicy": "{}"})
        call = only_call("aws:iam/rolePolicy:RolePolicy", "exec", {"role": "exec-id", "policy": "{}"}, role)
        self.assertEqual(call.params, {"RoleName": "exec", "PolicyName": "exec", "PolicyDocument": "{}"})


class OtherServicesTest(unittest.TestCase):
    def test_cloud_map_attributes_become_a_list(self):
        spec = {"serviceDiscovery": {"awsCloudMap": {"namespaceName": "n", "serviceName": "s", "attributes": {"k": "v"}}}}
        call = only_call("aws:appmesh/virtualNode:VirtualNode", "node", {"meshName": "m", "spec": spec})
        self.assertEqual(call.params["spec"]["serviceDiscovery"]["awsCloudMap"]["attributes"], [{"key": "k", "value": "v"}])
        self.assertEqual(call.params["virtualNodeName"], "node")

    def test_log_group_retention_is_a_second_call_and_tags_a_map(self):
        r = resource("aws:cloudwatch/logGroup:LogGroup", "lg", {"name": "/a", "retentionInDays": 7, "tags": {"k": "v"}})
        create, retention = translate.create_log_group(r, graph_of(r))
        self.assertEqual(create.params, {"logGroupName": "/a", "tags": {"k": "v"}})
        self.assertEqual(retention.params, {"logGroupName": "/a", "retentionInDays": 7})

    def test_security_group_rule_to_another_group(self):
        call = only_call(
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            "r",
            {"securityGroupId": "a-id", "referencedSecurityGroupId": "b-id", "ipProtocol": "tcp", "fromPort": 1, "toPort": 2, "description": "d"},
        )
        self.assertEqual(
            call.params,
            {"GroupId": "a-id", "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2, "UserIdGroupPairs": [{"GroupId": "b-id", "Description": "d"}]}]},
        )

    def test_load_balancer_attributes_are_a_second_call(self):
        r = resource("aws:lb/loadBalancer:LoadBalancer", "web", {"internal": False, "subnets": ["a"], "dropInvalidHeaderFields": True, "idleTimeout": 60})
        create, modify = translate.create_load_balancer(r, graph_of(r))
        self.assertEqual(create.params, {"Subnets": ["a"], "Name": "web", "Scheme": "internet-facing"})
        self.assertEqual(modify.params["LoadBalancerArn"], "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/0123456789abcdef")
        self.assertEqual(
            modify.params["Attributes"],
            [{"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"}, {"Key": "idle_timeout.timeout_seconds", "Value": "60"}],
        )

    def test_target_group_health_check_is_flat(self):
        call = only_call("aws:lb/targetGroup:TargetGroup", "tg", {"port": 80, "healthCheck": {"path": "/h", "matcher": "200", "interval": 15}})
        self.assertEqual(call.params, {"Port": 80, "Name": "tg", "HealthCheckPath": "/h", "HealthCheckIntervalSeconds": 15, "Matcher": {"HttpCode": "200"}})
        self.assertEqual(models.validate("elbv2", "CreateTargetGroup", call.params), [])

    def test_listener_action_kinds_not_translated_are_reported(self):
        call = only_call("aws:lb/listener:Listener", "l", {"loadBalancerArn": "a", "defaultActions": [{"type": "fixed-response", "fixedResponse": {"statusCode": "503"}}]})
        self.assertEqual(call.problems, ["input 'defaultActions[0].fixedResponse' has no translation to the AWS API in checks/awsapi/translate.py"])

    def test_listener_redirect_is_translated_and_valid(self):
        redirect = {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}
        call = only_call("aws:lb/listener:Listener", "l", {"loadBalancerArn": "a", "port": 80, "protocol": "HTTP", "defaultActions": [{"type": "redirect", "redirect": redirect}]})
        self.assertEqual(call.problems, [])
        self.assertEqual(call.params["DefaultActions"], [{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}])
        self.assertEqual(models.validate("elbv2", "CreateListener", call.params), [])

    def test_sampling_rule_is_wrapped(self):
        call = only_call("aws:xray/samplingRule:SamplingRule", "r", {"ruleName": "r", "resourceArn": "*", "urlPath": "*"})
        self.assertEqual(call.params, {"SamplingRule": {"RuleName": "r", "ResourceARN": "*", "URLPath": "*"}})


if __name__ == "__main__":
    unittest.main()


class VpcEndpointTest(unittest.TestCase):
    def test_interface_and_gateway_endpoints(self):
        iface = only_call(
            "aws:ec2/vpcEndpoint:VpcEndpoint",
            "ecr-dkr",
            {"vpcId": "vpc-1", "serviceName": "com.amazonaws.us-east-1.ecr.dkr", "vpcEndpointType": "Interface",
             "subnetIds": ["subnet-a"], "securityGroupIds": ["sg-e"], "privateDnsEnabled": True, "tags": {"k": "v"}},
        )
        self.assertEqual(iface.problems, [])
        self.assertEqual(iface.params["SubnetIds"], ["subnet-a"])
        self.assertEqual(iface.params["SecurityGroupIds"], ["sg-e"])
        self.assertTrue(iface.params["PrivateDnsEnabled"])
        self.assertEqual(iface.params["TagSpecifications"][0]["ResourceType"], "vpc-endpoint")
        gateway = only_call(
            "aws:ec2/vpcEndpoint:VpcEndpoint",
            "s3",
            {"vpcId": "vpc-1", "serviceName": "com.amazonaws.us-east-1.s3", "vpcEndpointType": "Gateway", "routeTableIds": ["rtb-a"], "ipAddressType": "ipv4"},
        )
        self.assertEqual(gateway.params["RouteTableIds"], ["rtb-a"])
        self.assertEqual(gateway.problems, ["input 'ipAddressType' has no translation to the AWS API in checks/awsapi/translate.py"])

    def test_pull_through_cache_rule(self):
        call = only_call("aws:ecr/pullThroughCacheRule:PullThroughCacheRule", "cache",
                         {"ecrRepositoryPrefix": "p", "upstreamRegistryUrl": "public.ecr.aws"})
        self.assertEqual((call.service, call.operation, call.params, call.problems),
                         ("ecr", "CreatePullThroughCacheRule", {"ecrRepositoryPrefix": "p", "upstreamRegistryUrl": "public.ecr.aws"}, []))
