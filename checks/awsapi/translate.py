"""Pulumi inputs -> AWS API request payloads.

The graph holds each resource's inputs under Pulumi's property names and in the
Terraform-derived shapes of pulumi-aws (tags as a map, `serviceRegistries` as one object,
`deploymentCircuitBreaker` at the top level of a service, ...). The AWS API wants other
names and shapes. Each function below builds the request the provider would send for one
resource type, field by field. Inputs a function does not know are reported, not dropped,
so a new input cannot slip past the model check untranslated.

Raw AWS payloads (an ECS task definition's containerDefinitions, IAM policy documents)
are passed through unchanged: they are what is being checked.
"""

import json
from dataclasses import dataclass, field

from graph import MOCK_ACCOUNT, mock_arn

# Inputs that configure the Pulumi provider's behaviour and never reach the create call.
PROVIDER_ONLY = {
    "aws:ecs/taskDefinition:TaskDefinition": {"skipDestroy", "trackLatest"},
    "aws:ecs/service:Service": {"forceDelete", "forceNewDeployment", "triggers", "waitForSteadyState"},
    "aws:iam/role:Role": {"forceDetachPolicies"},
    "aws:cloudwatch/logGroup:LogGroup": {"skipDestroy"},
    "aws:servicediscovery/service:Service": {"forceDestroy"},
    "aws:ec2/securityGroup:SecurityGroup": {"revokeRulesOnDelete"},
    "aws:ecr/repository:Repository": {"forceDelete"},
    "aws:rds/instance:Instance": {
        "applyImmediately",
        "allowMajorVersionUpgrade",
        "deleteAutomatedBackups",
        "finalSnapshotIdentifier",
        "skipFinalSnapshot",
    },
}


@dataclass
class Call:
    """One AWS API request built from one resource of the graph."""

    service: str  # botocore service name: ecs, iam, appmesh, ...
    operation: str  # botocore operation name: RegisterTaskDefinition, ...
    params: dict
    resource: object  # graph.Resource
    problems: list = field(default_factory=list)  # translation problems (findings)

    def label(self):
        return f"{self.service} {self.operation}"


# --- helpers ------------------------------------------------------------------------------


def pick(inputs, names):
    """The inputs listed in names {pulumiName: apiName}, renamed."""
    return {api: inputs[name] for name, api in names.items() if name in inputs}


def tag_list(tags, key="key", value="value"):
    """A Pulumi tag map as the list of {key, value} pairs most APIs take."""
    return [{key: k, value: v} for k, v in sorted((tags or {}).items())]


def untranslated(resource, handled):
    """Findings for inputs that no translation consumed."""
    ignored = PROVIDER_ONLY.get(resource.type, set())
    return [
        f"input {k!r} has no translation to the AWS API in checks/awsapi/translate.py"
        for k in sorted(resource.inputs)
        if k not in handled and k not in ignored
    ]


def physical_name(resource, key="name"):
    """The name a resource is created under: its explicit name, else its logical name.

    Pulumi would append a random suffix to an auto-named resource; the mocks and this
    check use the logical name, so ARNs built by the mocks match the ones moto returns.
    """
    return resource.inputs.get(key) or resource.name


def make(service, operation, params, resource, handled):
    return Call(service, operation, params, resource, untranslated(resource, handled))


def parse_json_input(resource, key):
    """A JSON-string input as a value, or None and a problem."""
    raw = resource.inputs.get(key)
    if not isinstance(raw, str):
        return None, [f"input {key!r} is not a JSON string: {raw!r}"]
    try:
        return json.loads(raw), []
    except json.JSONDecodeError as e:
        return None, [f"input {key!r} is not valid JSON: {e}"]


# --- ECS ----------------------------------------------------------------------------------

TASK_DEFINITION_FIELDS = {
    "family": "family",
    "taskRoleArn": "taskRoleArn",
    "executionRoleArn": "executionRoleArn",
    "networkMode": "networkMode",
    "requiresCompatibilities": "requiresCompatibilities",
    "cpu": "cpu",
    "memory": "memory",
    "pidMode": "pidMode",
    "ipcMode": "ipcMode",
    "runtimePlatform": "runtimePlatform",
    "placementConstraints": "placementConstraints",
    "inferenceAccelerators": "inferenceAccelerators",
    "enableFaultInjection": "enableFaultInjection",
}


def register_task_definition(r, graph):
    params = pick(r.inputs, TASK_DEFINITION_FIELDS)
    containers, problems = parse_json_input(r, "containerDefinitions")
    params["containerDefinitions"] = containers
    if "proxyConfiguration" in r.inputs:
        params["proxyConfiguration"] = proxy_configuration(r.inputs["proxyConfiguration"])
    if "ephemeralStorage" in r.inputs:
        params["ephemeralStorage"] = {"sizeInGiB": r.inputs["ephemeralStorage"].get("sizeInGib")}
    if "volumes" in r.inputs:
        params["volumes"] = [task_volume(v) for v in r.inputs["volumes"]]
    if "tags" in r.inputs:
        params["tags"] = tag_list(r.inputs["tags"])
    handled = set(TASK_DEFINITION_FIELDS) | {
        "containerDefinitions",
        "proxyConfiguration",
        "ephemeralStorage",
        "volumes",
        "tags",
    }
    call = make("ecs", "RegisterTaskDefinition", params, r, handled)
    call.problems += problems
    return [call]


def proxy_configuration(pc):
    """Pulumi's properties map -> the API's list of {name, value}."""
    out = pick(pc, {"type": "type", "containerName": "containerName"})
    if "properties" in pc:
        out["properties"] = [{"name": k, "value": v} for k, v in sorted(pc["properties"].items())]
    return out


def task_volume(v):
    """Terraform's volume block -> the API's Volume (hostPath -> host.sourcePath)."""
    out = pick(
        v,
        {
            "name": "name",
            "efsVolumeConfiguration": "efsVolumeConfiguration",
            "dockerVolumeConfiguration": "dockerVolumeConfiguration",
            "fsxWindowsFileServerVolumeConfiguration": "fsxWindowsFileServerVolumeConfiguration",
            "configureAtLaunch": "configuredAtLaunch",
        },
    )
    if "hostPath" in v:
        out["host"] = {"sourcePath": v["hostPath"]}
    return out


def create_cluster(r, graph):
    params = pick(
        r.inputs,
        {
            "settings": "settings",
            "serviceConnectDefaults": "serviceConnectDefaults",
            "configuration": "configuration",
        },
    )
    params["clusterName"] = physical_name(r)
    if "tags" in r.inputs:
        params["tags"] = tag_list(r.inputs["tags"])
    handled = {"name", "settings", "serviceConnectDefaults", "configuration", "tags"}
    return [make("ecs", "CreateCluster", params, r, handled)]


SERVICE_FIELDS = {
    "cluster": "cluster",
    "taskDefinition": "taskDefinition",
    "desiredCount": "desiredCount",
    "launchType": "launchType",
    "platformVersion": "platformVersion",
    "schedulingStrategy": "schedulingStrategy",
    "healthCheckGracePeriodSeconds": "healthCheckGracePeriodSeconds",
    "propagateTags": "propagateTags",
    "enableExecuteCommand": "enableExecuteCommand",
    "enableEcsManagedTags": "enableECSManagedTags",
    "iamRole": "role",
    "availabilityZoneRebalancing": "availabilityZoneRebalancing",
    "placementConstraints": "placementConstraints",
    "deploymentController": "deploymentController",
}


def create_service(r, graph):
    i = r.inputs
    params = pick(i, SERVICE_FIELDS)
    params["serviceName"] = physical_name(r)
    if "networkConfiguration" in i:
        params["networkConfiguration"] = network_configuration(i["networkConfiguration"])
    if "loadBalancers" in i:
        params["loadBalancers"] = [
            pick(
                lb,
                {
                    "targetGroupArn": "targetGroupArn",
                    "elbName": "loadBalancerName",
                    "containerName": "containerName",
                    "containerPort": "containerPort",
                },
            )
            for lb in i["loadBalancers"]
        ]
    if "serviceRegistries" in i:
        params["serviceRegistries"] = [
            pick(
                i["serviceRegistries"],
                {
                    "registryArn": "registryArn",
                    "port": "port",
                    "containerName": "containerName",
                    "containerPort": "containerPort",
                },
            )
        ]
    deployment = deployment_configuration(i)
    if deployment:
        params["deploymentConfiguration"] = deployment
    if "capacityProviderStrategies" in i:
        params["capacityProviderStrategy"] = i["capacityProviderStrategies"]
    if "orderedPlacementStrategies" in i:
        params["placementStrategy"] = i["orderedPlacementStrategies"]
    if "serviceConnectConfiguration" in i:
        params["serviceConnectConfiguration"] = service_connect(i["serviceConnectConfiguration"])
    if "tags" in i:
        params["tags"] = tag_list(i["tags"])
    handled = set(SERVICE_FIELDS) | {
        "name",
        "networkConfiguration",
        "loadBalancers",
        "serviceRegistries",
        "deploymentCircuitBreaker",
        "deploymentMaximumPercent",
        "deploymentMinimumHealthyPercent",
        "alarms",
        "capacityProviderStrategies",
        "orderedPlacementStrategies",
        "serviceConnectConfiguration",
        "tags",
    }
    return [make("ecs", "CreateService", params, r, handled)]


def network_configuration(nc):
    """Terraform's flat network_configuration (assignPublicIp a bool) -> awsvpcConfiguration."""
    out = pick(nc, {"subnets": "subnets", "securityGroups": "securityGroups"})
    if "assignPublicIp" in nc:
        out["assignPublicIp"] = "ENABLED" if nc["assignPublicIp"] else "DISABLED"
    return {"awsvpcConfiguration": out}


def deployment_configuration(i):
    """Top-level deployment inputs -> deploymentConfiguration."""
    out = pick(
        i,
        {
            "deploymentCircuitBreaker": "deploymentCircuitBreaker",
            "deploymentMaximumPercent": "maximumPercent",
            "deploymentMinimumHealthyPercent": "minimumHealthyPercent",
            "alarms": "alarms",
        },
    )
    return out


def service_connect(sc):
    out = pick(sc, {"enabled": "enabled", "namespace": "namespace", "logConfiguration": "logConfiguration"})
    if "services" in sc:
        out["services"] = [service_connect_service(s) for s in sc["services"]]
    return out


def service_connect_service(s):
    """clientAlias -> clientAliases, tls.issuerCertAuthority -> tls.issuerCertificateAuthority."""
    out = pick(
        s,
        {
            "portName": "portName",
            "discoveryName": "discoveryName",
            "ingressPortOverride": "ingressPortOverride",
            "timeout": "timeout",
            "clientAlias": "clientAliases",
        },
    )
    if "tls" in s:
        tls = pick(s["tls"], {"kmsKey": "kmsKey", "roleArn": "roleArn"})
        if "issuerCertAuthority" in s["tls"]:
            tls["issuerCertificateAuthority"] = s["tls"]["issuerCertAuthority"]
        out["tls"] = tls
    return out


# --- IAM ----------------------------------------------------------------------------------


def role_name(graph, ref):
    """The role a reference names: the mocks' role id (<name>-id), its name or its ARN."""
    for role in graph.of_type("aws:iam/role:Role"):
        name = physical_name(role)
        if ref in (role.mock_id, name, f"arn:aws:iam::{MOCK_ACCOUNT}:role/{name}"):
            return name
    return ref


def create_role(r, graph):
    params = pick(
        r.inputs,
        {
            "assumeRolePolicy": "AssumeRolePolicyDocument",
            "description": "Description",
            "path": "Path",
            "maxSessionDuration": "MaxSessionDuration",
            "permissionsBoundary": "PermissionsBoundary",
        },
    )
    params["RoleName"] = physical_name(r)
    if "tags" in r.inputs:
        params["Tags"] = tag_list(r.inputs["tags"], "Key", "Value")
    handled = {
        "name",
        "assumeRolePolicy",
        "description",
        "path",
        "maxSessionDuration",
        "permissionsBoundary",
        "tags",
        "inlinePolicies",
        "managedPolicyArns",
    }
    calls = [make("iam", "CreateRole", params, r, handled)]
    for p in r.inputs.get("inlinePolicies") or []:
        doc = {"RoleName": params["RoleName"], "PolicyName": p.get("name"), "PolicyDocument": p.get("policy")}
        calls.append(Call("iam", "PutRolePolicy", doc, r))
    for arn in r.inputs.get("managedPolicyArns") or []:
        calls.append(Call("iam", "AttachRolePolicy", {"RoleName": params["RoleName"], "PolicyArn": arn}, r))
    return calls


def put_role_policy(r, graph):
    params = {
        "RoleName": role_name(graph, r.inputs.get("role")),
        "PolicyName": physical_name(r),
        "PolicyDocument": r.inputs.get("policy"),
    }
    return [make("iam", "PutRolePolicy", params, r, {"role", "name", "policy"})]


def create_policy(r, graph):
    params = pick(r.inputs, {"path": "Path", "description": "Description", "policy": "PolicyDocument"})
    params["PolicyName"] = physical_name(r)
    if "tags" in r.inputs:
        params["Tags"] = tag_list(r.inputs["tags"], "Key", "Value")
    return [make("iam", "CreatePolicy", params, r, {"name", "path", "description", "policy", "tags"})]


def attach_role_policy(r, graph):
    params = {"RoleName": role_name(graph, r.inputs.get("role")), "PolicyArn": r.inputs.get("policyArn")}
    return [make("iam", "AttachRolePolicy", params, r, {"role", "policyArn"})]


# --- CloudWatch Logs ------------------------------------------------------------------------


def create_log_group(r, graph):
    name = physical_name(r)
    params = pick(r.inputs, {"kmsKeyId": "kmsKeyId", "logGroupClass": "logGroupClass"})
    params["logGroupName"] = name
    if "tags" in r.inputs:
        params["tags"] = dict(sorted(r.inputs["tags"].items()))  # a map in this API
    handled = {"name", "kmsKeyId", "logGroupClass", "tags", "retentionInDays"}
    calls = [make("logs", "CreateLogGroup", params, r, handled)]
    if "retentionInDays" in r.inputs:
        retention = {"logGroupName": name, "retentionInDays": r.inputs["retentionInDays"]}
        calls.append(Call("logs", "PutRetentionPolicy", retention, r))
    return calls


# --- Cloud Map (service discovery) -------------------------------------------------------


def create_private_dns_namespace(r, graph):
    params = pick(r.inputs, {"name": "Name", "vpc": "Vpc", "description": "Description"})
    if "tags" in r.inputs:
        params["Tags"] = tag_list(r.inputs["tags"], "Key", "Value")
    return [make("servicediscovery", "CreatePrivateDnsNamespace", params, r, {"name", "vpc", "description", "tags"})]


def create_discovery_service(r, graph):
    i = r.inputs
    params = pick(i, {"namespaceId": "NamespaceId", "description": "Description", "type": "Type"})
    params["Name"] = physical_name(r)
    if "dnsConfig" in i:
        dns = i["dnsConfig"]
        params["DnsConfig"] = pick(dns, {"namespaceId": "NamespaceId", "routingPolicy": "RoutingPolicy"})
        if "dnsRecords" in dns:
            params["DnsConfig"]["DnsRecords"] = [pick(d, {"type": "Type", "ttl": "TTL"}) for d in dns["dnsRecords"]]
    if "healthCheckConfig" in i:
        params["HealthCheckConfig"] = pick(
            i["healthCheckConfig"],
            {"type": "Type", "resourcePath": "ResourcePath", "failureThreshold": "FailureThreshold"},
        )
    if "healthCheckCustomConfig" in i:
        params["HealthCheckCustomConfig"] = pick(i["healthCheckCustomConfig"], {"failureThreshold": "FailureThreshold"})
    if "tags" in i:
        params["Tags"] = tag_list(i["tags"], "Key", "Value")
    handled = {
        "name",
        "namespaceId",
        "description",
        "type",
        "dnsConfig",
        "healthCheckConfig",
        "healthCheckCustomConfig",
        "tags",
    }
    return [make("servicediscovery", "CreateService", params, r, handled)]


# --- App Mesh -------------------------------------------------------------------------------

# App Mesh specs in pulumi-aws use the API's member names; the differences are tags (a
# map) and Cloud Map attributes (a map; the API wants [{key, value}]).


def appmesh_call(operation, name_param, r, spec=None):
    params = pick(r.inputs, {"meshName": "meshName", "meshOwner": "meshOwner", "virtualRouterName": "virtualRouterName"})
    params[name_param] = physical_name(r)
    if "spec" in r.inputs:
        params["spec"] = spec(r.inputs["spec"]) if spec else r.inputs["spec"]
    if "tags" in r.inputs:
        params["tags"] = tag_list(r.inputs["tags"])
    handled = {"name", "meshName", "meshOwner", "virtualRouterName", "spec", "tags"}
    return [make("appmesh", operation, params, r, handled)]


def create_mesh(r, graph):
    return appmesh_call("CreateMesh", "meshName", r)


def virtual_node_spec(spec):
    out = dict(spec)
    discovery = spec.get("serviceDiscovery", {})
    cloud_map = discovery.get("awsCloudMap")
    if cloud_map and "attributes" in cloud_map:
        attributes = [{"key": k, "value": v} for k, v in sorted(cloud_map["attributes"].items())]
        out["serviceDiscovery"] = dict(discovery, awsCloudMap=dict(cloud_map, attributes=attributes))
    return out


def create_virtual_node(r, graph):
    return appmesh_call("CreateVirtualNode", "virtualNodeName", r, virtual_node_spec)


def create_virtual_router(r, graph):
    return appmesh_call("CreateVirtualRouter", "virtualRouterName", r)


def create_route(r, graph):
    return appmesh_call("CreateRoute", "routeName", r)


def create_virtual_service(r, graph):
    return appmesh_call("CreateVirtualService", "virtualServiceName", r)


# --- X-Ray ----------------------------------------------------------------------------------

SAMPLING_RULE_FIELDS = {
    "ruleName": "RuleName",
    "resourceArn": "ResourceARN",
    "priority": "Priority",
    "fixedRate": "FixedRate",
    "reservoirSize": "ReservoirSize",
    "serviceName": "ServiceName",
    "serviceType": "ServiceType",
    "host": "Host",
    "httpMethod": "HTTPMethod",
    "urlPath": "URLPath",
    "version": "Version",
    "attributes": "Attributes",
}


def create_sampling_rule(r, graph):
    params = {"SamplingRule": pick(r.inputs, SAMPLING_RULE_FIELDS)}
    if "tags" in r.inputs:
        params["Tags"] = tag_list(r.inputs["tags"], "Key", "Value")
    return [make("xray", "CreateSamplingRule", params, r, set(SAMPLING_RULE_FIELDS) | {"tags"})]


def create_xray_group(r, graph):
    params = pick(r.inputs, {"groupName": "GroupName", "filterExpression": "FilterExpression"})
    if "insightsConfiguration" in r.inputs:
        params["InsightsConfiguration"] = pick(
            r.inputs["insightsConfiguration"],
            {"insightsEnabled": "InsightsEnabled", "notificationsEnabled": "NotificationsEnabled"},
        )
    if "tags" in r.inputs:
        params["Tags"] = tag_list(r.inputs["tags"], "Key", "Value")
    handled = {"groupName", "filterExpression", "insightsConfiguration", "tags"}
    return [make("xray", "CreateGroup", params, r, handled)]


# --- EC2 security groups --------------------------------------------------------------------


def tag_specifications(resource_type, tags):
    return [{"ResourceType": resource_type, "Tags": tag_list(tags, "Key", "Value")}]


def create_security_group(r, graph):
    params = {
        "GroupName": physical_name(r),
        # The provider sends this default when no description is given.
        "Description": r.inputs.get("description", "Managed by Pulumi"),
    }
    if "vpcId" in r.inputs:
        params["VpcId"] = r.inputs["vpcId"]
    if "tags" in r.inputs:
        params["TagSpecifications"] = tag_specifications("security-group", r.inputs["tags"])
    return [make("ec2", "CreateSecurityGroup", params, r, {"name", "description", "vpcId", "tags"})]


def security_group_rule(operation):
    """aws:vpc/securityGroup{Ingress,Egress}Rule -> Authorize{Ingress,Egress} with one permission."""

    def translate(r, graph):
        i = r.inputs
        permission = pick(i, {"ipProtocol": "IpProtocol", "fromPort": "FromPort", "toPort": "ToPort"})
        description = pick(i, {"description": "Description"})
        if "cidrIpv4" in i:
            permission["IpRanges"] = [dict(CidrIp=i["cidrIpv4"], **description)]
        if "cidrIpv6" in i:
            permission["Ipv6Ranges"] = [dict(CidrIpv6=i["cidrIpv6"], **description)]
        if "referencedSecurityGroupId" in i:
            permission["UserIdGroupPairs"] = [dict(GroupId=i["referencedSecurityGroupId"], **description)]
        if "prefixListId" in i:
            permission["PrefixListIds"] = [dict(PrefixListId=i["prefixListId"], **description)]
        params = {"GroupId": i.get("securityGroupId"), "IpPermissions": [permission]}
        if "tags" in i:
            params["TagSpecifications"] = tag_specifications("security-group-rule", i["tags"])
        handled = {
            "ipProtocol",
            "fromPort",
            "toPort",
            "description",
            "cidrIpv4",
            "cidrIpv6",
            "referencedSecurityGroupId",
            "prefixListId",
            "securityGroupId",
            "tags",
        }
        return [make("ec2", operation, params, r, handled)]

    return translate


# --- Elastic Load Balancing v2 ------------------------------------------------------------

# Inputs the provider sets with Modify*Attributes after the create call, by attribute key.
LOAD_BALANCER_ATTRIBUTES = {
    "dropInvalidHeaderFields": "routing.http.drop_invalid_header_fields.enabled",
    "enableDeletionProtection": "deletion_protection.enabled",
    "enableHttp2": "routing.http2.enabled",
    "idleTimeout": "idle_timeout.timeout_seconds",
    "desyncMitigationMode": "routing.http.desync_mitigation_mode",
    "preserveHostHeader": "routing.http.preserve_host_header.enabled",
    "xffHeaderProcessingMode": "routing.http.xff_header_processing.mode",
}
TARGET_GROUP_ATTRIBUTES = {
    "deregistrationDelay": "deregistration_delay.timeout_seconds",
    "slowStart": "slow_start.duration_seconds",
    "loadBalancingAlgorithmType": "load_balancing.algorithm.type",
}


def attributes(inputs, names):
    """Inputs as ELB attributes [{Key, Value}], values as the strings the API takes."""
    def text(v):
        return str(v).lower() if isinstance(v, bool) else str(v)

    return [{"Key": key, "Value": text(inputs[name])} for name, key in names.items() if name in inputs]


def mock_load_balancer_arn(r):
    return mock_arn("elasticloadbalancing", f"loadbalancer/app/{r.name}/0123456789abcdef")


def mock_target_group_arn(r):
    return mock_arn("elasticloadbalancing", f"targetgroup/{r.name}/0123456789abcdef")


def create_load_balancer(r, graph):
    params = pick(r.inputs, {"subnets": "Subnets", "securityGroups": "SecurityGroups", "loadBalancerType": "Type", "ipAddressType": "IpAddressType"})
    params["Name"] = physical_name(r)
    if "internal" in r.inputs:
        params["Scheme"] = "internal" if r.inputs["internal"] else "internet-facing"
    if "tags" in r.inputs:
        params["Tags"] = tag_list(r.inputs["tags"], "Key", "Value")
    handled = {"name", "subnets", "securityGroups", "loadBalancerType", "ipAddressType", "internal", "tags", "accessLogs"}
    calls = [make("elbv2", "CreateLoadBalancer", params, r, handled | set(LOAD_BALANCER_ATTRIBUTES))]
    attrs = attributes(r.inputs, LOAD_BALANCER_ATTRIBUTES)
    logs = r.inputs.get("accessLogs")
    if logs:
        attrs += attributes(logs, {"enabled": "access_logs.s3.enabled", "bucket": "access_logs.s3.bucket", "prefix": "access_logs.s3.prefix"})
    if attrs:
        modify = {"LoadBalancerArn": mock_load_balancer_arn(r), "Attributes": attrs}
        calls.append(Call("elbv2", "ModifyLoadBalancerAttributes", modify, r))
    return calls


TARGET_GROUP_HEALTH_CHECK = {
    "enabled": "HealthCheckEnabled",
    "path": "HealthCheckPath",
    "port": "HealthCheckPort",
    "protocol": "HealthCheckProtocol",
    "interval": "HealthCheckIntervalSeconds",
    "timeout": "HealthCheckTimeoutSeconds",
    "healthyThreshold": "HealthyThresholdCount",
    "unhealthyThreshold": "UnhealthyThresholdCount",
}


def create_target_group(r, graph):
    i = r.inputs
    params = pick(i, {"port": "Port", "protocol": "Protocol", "protocolVersion": "ProtocolVersion", "vpcId": "VpcId", "targetType": "TargetType", "ipAddressType": "IpAddressType"})
    params["Name"] = physical_name(r)
    health = i.get("healthCheck") or {}
    params.update(pick(health, TARGET_GROUP_HEALTH_CHECK))
    if "matcher" in health:
        params["Matcher"] = {"HttpCode": health["matcher"]}
    if "tags" in i:
        params["Tags"] = tag_list(i["tags"], "Key", "Value")
    handled = {"name", "port", "protocol", "protocolVersion", "vpcId", "targetType", "ipAddressType", "healthCheck", "tags"}
    calls = [make("elbv2", "CreateTargetGroup", params, r, handled | set(TARGET_GROUP_ATTRIBUTES))]
    attrs = attributes(i, TARGET_GROUP_ATTRIBUTES)
    if attrs:
        modify = {"TargetGroupArn": mock_target_group_arn(r), "Attributes": attrs}
        calls.append(Call("elbv2", "ModifyTargetGroupAttributes", modify, r))
    return calls


LISTENER_ACTION = {"type": "Type", "targetGroupArn": "TargetGroupArn", "order": "Order"}
LISTENER_REDIRECT = {"protocol": "Protocol", "port": "Port", "host": "Host", "path": "Path", "query": "Query", "statusCode": "StatusCode"}


def listener_action(a):
    action = pick(a, LISTENER_ACTION)
    if "redirect" in a:
        action["RedirectConfig"] = pick(a["redirect"], LISTENER_REDIRECT)
    return action


def create_listener(r, graph):
    params = pick(r.inputs, {"loadBalancerArn": "LoadBalancerArn", "port": "Port", "protocol": "Protocol", "sslPolicy": "SslPolicy"})
    if "certificateArn" in r.inputs:
        params["Certificates"] = [{"CertificateArn": r.inputs["certificateArn"]}]
    if "alpnPolicy" in r.inputs:
        params["AlpnPolicy"] = [r.inputs["alpnPolicy"]]
    actions = r.inputs.get("defaultActions") or []
    params["DefaultActions"] = [listener_action(a) for a in actions]
    if "tags" in r.inputs:
        params["Tags"] = tag_list(r.inputs["tags"], "Key", "Value")
    handled = {"loadBalancerArn", "port", "protocol", "sslPolicy", "alpnPolicy", "certificateArn", "defaultActions", "tags"}
    call = make("elbv2", "CreateListener", params, r, handled)
    for n, action in enumerate(actions):
        for key in sorted(set(action) - set(LISTENER_ACTION) - {"redirect"}):
            call.problems.append(f"input 'defaultActions[{n}].{key}' has no translation to the AWS API in checks/awsapi/translate.py")
    return [call]


# --- ECR ------------------------------------------------------------------------------------


def create_repository(r, graph):
    params = pick(r.inputs, {"imageTagMutability": "imageTagMutability", "imageScanningConfiguration": "imageScanningConfiguration"})
    params["repositoryName"] = physical_name(r)
    encryption = r.inputs.get("encryptionConfigurations") or []
    if encryption:  # a list of at most one in Terraform, one object in the API
        params["encryptionConfiguration"] = encryption[0]
    if "tags" in r.inputs:
        params["tags"] = tag_list(r.inputs["tags"], "Key", "Value")
    handled = {"name", "imageTagMutability", "imageScanningConfiguration", "encryptionConfigurations", "tags"}
    return [make("ecr", "CreateRepository", params, r, handled)]


# --- RDS --------------------------------------------------------------------------------------


def create_db_subnet_group(r, graph):
    params = pick(r.inputs, {"subnetIds": "SubnetIds"})
    params["DBSubnetGroupName"] = physical_name(r)
    params["DBSubnetGroupDescription"] = r.inputs.get("description", "Managed by Pulumi")
    if "tags" in r.inputs:
        params["Tags"] = tag_list(r.inputs["tags"], "Key", "Value")
    return [make("rds", "CreateDBSubnetGroup", params, r, {"name", "description", "subnetIds", "tags"})]


def create_db_parameter_group(r, graph):
    name = physical_name(r)
    params = {"DBParameterGroupName": name, **pick(r.inputs, {"family": "DBParameterGroupFamily", "description": "Description"})}
    if "tags" in r.inputs:
        params["Tags"] = tag_list(r.inputs["tags"], "Key", "Value")
    calls = [make("rds", "CreateDBParameterGroup", params, r, {"name", "family", "description", "tags", "parameters"})]
    if r.inputs.get("parameters"):
        # The provider sets parameters with a second call; "immediate" is its default apply method.
        parameters = [
            {"ParameterName": p["name"], "ParameterValue": p["value"], "ApplyMethod": p.get("applyMethod", "immediate")}
            for p in r.inputs["parameters"]
        ]
        calls.append(Call("rds", "ModifyDBParameterGroup", {"DBParameterGroupName": name, "Parameters": parameters}, r))
    return calls


DB_INSTANCE_FIELDS = {
    "identifier": "DBInstanceIdentifier",
    "allocatedStorage": "AllocatedStorage",
    "autoMinorVersionUpgrade": "AutoMinorVersionUpgrade",
    "availabilityZone": "AvailabilityZone",
    "backupRetentionPeriod": "BackupRetentionPeriod",
    "backupWindow": "PreferredBackupWindow",
    "caCertIdentifier": "CACertificateIdentifier",
    "copyTagsToSnapshot": "CopyTagsToSnapshot",
    "dbName": "DBName",
    "dbSubnetGroupName": "DBSubnetGroupName",
    "deletionProtection": "DeletionProtection",
    "enabledCloudwatchLogsExports": "EnableCloudwatchLogsExports",
    "engine": "Engine",
    "engineVersion": "EngineVersion",
    "iamDatabaseAuthenticationEnabled": "EnableIAMDatabaseAuthentication",
    "instanceClass": "DBInstanceClass",
    "iops": "Iops",
    "kmsKeyId": "KmsKeyId",
    "maintenanceWindow": "PreferredMaintenanceWindow",
    "manageMasterUserPassword": "ManageMasterUserPassword",
    "masterUserSecretKmsKeyId": "MasterUserSecretKmsKeyId",
    "maxAllocatedStorage": "MaxAllocatedStorage",
    "monitoringInterval": "MonitoringInterval",
    "monitoringRoleArn": "MonitoringRoleArn",
    "multiAz": "MultiAZ",
    "networkType": "NetworkType",
    "parameterGroupName": "DBParameterGroupName",
    "password": "MasterUserPassword",
    "performanceInsightsEnabled": "EnablePerformanceInsights",
    "performanceInsightsRetentionPeriod": "PerformanceInsightsRetentionPeriod",
    "port": "Port",
    "publiclyAccessible": "PubliclyAccessible",
    "storageEncrypted": "StorageEncrypted",
    "storageThroughput": "StorageThroughput",
    "storageType": "StorageType",
    "username": "MasterUsername",
    "vpcSecurityGroupIds": "VpcSecurityGroupIds",
}


def create_db_instance(r, graph):
    params = pick(r.inputs, DB_INSTANCE_FIELDS)
    if "tags" in r.inputs:
        params["Tags"] = tag_list(r.inputs["tags"], "Key", "Value")
    return [make("rds", "CreateDBInstance", params, r, set(DB_INSTANCE_FIELDS) | {"tags"})]


def put_metric_filter(r, graph):
    t = r.inputs.get("metricTransformation") or {}
    params = {"logGroupName": r.inputs.get("logGroupName"), "filterName": physical_name(r), "filterPattern": r.inputs.get("pattern"),
              "metricTransformations": [pick(t, {"name": "metricName", "namespace": "metricNamespace", "value": "metricValue", "defaultValue": "defaultValue", "unit": "unit"})]}
    return [make("logs", "PutMetricFilter", params, r, {"logGroupName", "name", "pattern", "metricTransformation"})]


def put_lifecycle_policy(r, graph):
    params = pick(r.inputs, {"repository": "repositoryName", "policy": "lifecyclePolicyText", "registryId": "registryId"})
    return [make("ecr", "PutLifecyclePolicy", params, r, {"repository", "policy", "registryId"})]


def create_flow_log(r, graph):
    i = r.inputs
    params = {"ResourceIds": [i.get("vpcId")], "ResourceType": "VPC",
              **pick(i, {"trafficType": "TrafficType", "logDestinationType": "LogDestinationType", "logDestination": "LogDestination",
                         "iamRoleArn": "DeliverLogsPermissionArn", "maxAggregationInterval": "MaxAggregationInterval"})}
    if "tags" in i:
        params["TagSpecifications"] = tag_specifications("vpc-flow-log", i["tags"])
    return [make("ec2", "CreateFlowLogs", params, r, {"vpcId", "trafficType", "logDestinationType", "logDestination", "iamRoleArn", "maxAggregationInterval", "tags"})]


def create_vpc_endpoint(r, graph):
    """Interface endpoints (subnets, security groups, private DNS) and gateway endpoints
    (route tables) are one call with different fields."""
    i = r.inputs
    params = pick(i, {"vpcId": "VpcId", "serviceName": "ServiceName", "vpcEndpointType": "VpcEndpointType",
                      "subnetIds": "SubnetIds", "securityGroupIds": "SecurityGroupIds",
                      "privateDnsEnabled": "PrivateDnsEnabled", "routeTableIds": "RouteTableIds", "policy": "PolicyDocument"})
    if "tags" in i:
        params["TagSpecifications"] = tag_specifications("vpc-endpoint", i["tags"])
    handled = {"vpcId", "serviceName", "vpcEndpointType", "subnetIds", "securityGroupIds", "privateDnsEnabled", "routeTableIds", "policy", "tags"}
    return [make("ec2", "CreateVpcEndpoint", params, r, handled)]


def create_pull_through_cache_rule(r, graph):
    params = pick(r.inputs, {"ecrRepositoryPrefix": "ecrRepositoryPrefix", "upstreamRegistryUrl": "upstreamRegistryUrl",
                             "credentialArn": "credentialArn", "customRoleArn": "customRoleArn",
                             "upstreamRepositoryPrefix": "upstreamRepositoryPrefix"})
    return [make("ecr", "CreatePullThroughCacheRule", params, r, set(params))]


# --- S3, WAF, ACM, Route 53 (the public edge) -------------------------------------------------


def bucket_of(r, graph):
    """The name of the bucket a bucket sub-resource points at (under the mocks its id is
    <logical name>-id)."""
    ref = r.inputs.get("bucket", "")
    for b in graph.of_type("aws:s3/bucketV2:BucketV2"):
        if ref in (f"{b.name}-id", b.name, b.inputs.get("bucket")):
            return physical_name(b, "bucket")
    return ref


def create_bucket(r, graph):
    params = {"Bucket": physical_name(r, "bucket")}
    calls = [make("s3", "CreateBucket", params, r, {"bucket", "tags", "forceDestroy"})]
    if r.inputs.get("tags"):
        calls.append(Call("s3", "PutBucketTagging", {"Bucket": params["Bucket"], "Tagging": {"TagSet": tag_list(r.inputs["tags"], "Key", "Value")}}, r))
    return calls


def put_bucket_encryption(r, graph):
    rules = []
    for rule in r.inputs.get("rules") or []:
        default = rule.get("applyServerSideEncryptionByDefault") or {}
        rules.append({"ApplyServerSideEncryptionByDefault": pick(default, {"sseAlgorithm": "SSEAlgorithm", "kmsMasterKeyId": "KMSMasterKeyID"}),
                      **pick(rule, {"bucketKeyEnabled": "BucketKeyEnabled"})})
    params = {"Bucket": bucket_of(r, graph), "ServerSideEncryptionConfiguration": {"Rules": rules}}
    return [make("s3", "PutBucketEncryption", params, r, {"bucket", "rules"})]


def put_public_access_block(r, graph):
    config = pick(r.inputs, {"blockPublicAcls": "BlockPublicAcls", "blockPublicPolicy": "BlockPublicPolicy",
                             "ignorePublicAcls": "IgnorePublicAcls", "restrictPublicBuckets": "RestrictPublicBuckets"})
    params = {"Bucket": bucket_of(r, graph), "PublicAccessBlockConfiguration": config}
    return [make("s3", "PutPublicAccessBlock", params, r, {"bucket", "blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"})]


def put_ownership_controls(r, graph):
    rule = r.inputs.get("rule") or {}
    params = {"Bucket": bucket_of(r, graph), "OwnershipControls": {"Rules": [pick(rule, {"objectOwnership": "ObjectOwnership"})]}}
    return [make("s3", "PutBucketOwnershipControls", params, r, {"bucket", "rule"})]


def put_lifecycle(r, graph):
    rules = []
    for rule in r.inputs.get("rules") or []:
        out = pick(rule, {"id": "ID", "status": "Status"})
        if "filter" in rule:
            out["Filter"] = pick(rule["filter"], {"prefix": "Prefix"})
        if "expiration" in rule:
            out["Expiration"] = pick(rule["expiration"], {"days": "Days"})
        rules.append(out)
    params = {"Bucket": bucket_of(r, graph), "LifecycleConfiguration": {"Rules": rules}}
    return [make("s3", "PutBucketLifecycleConfiguration", params, r, {"bucket", "rules"})]


def put_bucket_policy(r, graph):
    params = {"Bucket": bucket_of(r, graph), "Policy": r.inputs.get("policy")}
    return [make("s3", "PutBucketPolicy", params, r, {"bucket", "policy"})]


def waf_visibility(v):
    return pick(v or {}, {"cloudwatchMetricsEnabled": "CloudWatchMetricsEnabled", "metricName": "MetricName", "sampledRequestsEnabled": "SampledRequestsEnabled"})


def waf_statement(st):
    out = {}
    if "managedRuleGroupStatement" in st:
        out["ManagedRuleGroupStatement"] = pick(st["managedRuleGroupStatement"], {"name": "Name", "vendorName": "VendorName", "version": "Version"})
    if "rateBasedStatement" in st:
        out["RateBasedStatement"] = pick(st["rateBasedStatement"], {"limit": "Limit", "aggregateKeyType": "AggregateKeyType", "evaluationWindowSec": "EvaluationWindowSec"})
    return out


def waf_action(a, names):
    return {names[k]: {} for k in a or {} if k in names}


def create_web_acl(r, graph):
    i = r.inputs
    rules = []
    for rule in i.get("rules") or []:
        out = {"Name": rule["name"], "Priority": rule["priority"], "Statement": waf_statement(rule.get("statement") or {}),
               "VisibilityConfig": waf_visibility(rule.get("visibilityConfig"))}
        if "action" in rule:
            out["Action"] = waf_action(rule["action"], {"block": "Block", "allow": "Allow", "count": "Count"})
        if "overrideAction" in rule:
            out["OverrideAction"] = waf_action(rule["overrideAction"], {"none": "None", "count": "Count"})
        rules.append(out)
    params = {"Name": physical_name(r), "Scope": i.get("scope"), "DefaultAction": waf_action(i.get("defaultAction"), {"allow": "Allow", "block": "Block"}),
              "Rules": rules, "VisibilityConfig": waf_visibility(i.get("visibilityConfig"))}
    if "tags" in i:
        params["Tags"] = tag_list(i["tags"], "Key", "Value")
    return [make("wafv2", "CreateWebACL", params, r, {"name", "scope", "defaultAction", "rules", "visibilityConfig", "tags"})]


def associate_web_acl(r, graph):
    params = pick(r.inputs, {"webAclArn": "WebACLArn", "resourceArn": "ResourceArn"})
    return [make("wafv2", "AssociateWebACL", params, r, {"webAclArn", "resourceArn"})]


def request_certificate(r, graph):
    params = pick(r.inputs, {"domainName": "DomainName", "validationMethod": "ValidationMethod", "subjectAlternativeNames": "SubjectAlternativeNames"})
    if "tags" in r.inputs:
        params["Tags"] = tag_list(r.inputs["tags"], "Key", "Value")
    return [make("acm", "RequestCertificate", params, r, {"domainName", "validationMethod", "subjectAlternativeNames", "tags"})]


def certificate_validation(r, graph):
    # No request of its own: the provider waits (DescribeCertificate) until ACM has issued it.
    params = pick(r.inputs, {"certificateArn": "CertificateArn"})
    return [make("acm", "DescribeCertificate", params, r, {"certificateArn", "validationRecordFqdns"})]


def change_record(r, graph):
    i = r.inputs
    record = {"Name": i.get("name"), "Type": i.get("type")}
    if i.get("aliases"):
        alias = i["aliases"][0]
        record["AliasTarget"] = {"DNSName": alias.get("name"), "HostedZoneId": alias.get("zoneId"), "EvaluateTargetHealth": alias.get("evaluateTargetHealth", False)}
    else:
        record["TTL"] = i.get("ttl")
        record["ResourceRecords"] = [{"Value": v} for v in i.get("records") or []]
    params = {"HostedZoneId": i.get("zoneId"), "ChangeBatch": {"Changes": [{"Action": "UPSERT", "ResourceRecordSet": record}]}}
    return [make("route53", "ChangeResourceRecordSets", params, r, {"zoneId", "name", "type", "aliases", "ttl", "records", "allowOverwrite"})]


# --- the table --------------------------------------------------------------------------------

TRANSLATORS = {
    "aws:ec2/securityGroup:SecurityGroup": create_security_group,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": security_group_rule("AuthorizeSecurityGroupIngress"),
    # The endpoints before the egress rules that name the S3 endpoint's prefix list.
    "aws:ec2/vpcEndpoint:VpcEndpoint": create_vpc_endpoint,
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": security_group_rule("AuthorizeSecurityGroupEgress"),
    "aws:cloudwatch/logGroup:LogGroup": create_log_group,
    "aws:iam/role:Role": create_role,
    "aws:iam/rolePolicy:RolePolicy": put_role_policy,
    "aws:iam/policy:Policy": create_policy,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": attach_role_policy,
    "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace": create_private_dns_namespace,
    "aws:servicediscovery/service:Service": create_discovery_service,
    "aws:appmesh/mesh:Mesh": create_mesh,
    "aws:appmesh/virtualRouter:VirtualRouter": create_virtual_router,
    "aws:appmesh/virtualNode:VirtualNode": create_virtual_node,
    "aws:appmesh/route:Route": create_route,
    "aws:appmesh/virtualService:VirtualService": create_virtual_service,
    "aws:xray/samplingRule:SamplingRule": create_sampling_rule,
    "aws:xray/group:Group": create_xray_group,
    "aws:ecr/repository:Repository": create_repository,
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": put_lifecycle_policy,
    "aws:ecr/pullThroughCacheRule:PullThroughCacheRule": create_pull_through_cache_rule,
    "aws:ec2/flowLog:FlowLog": create_flow_log,
    "aws:s3/bucketV2:BucketV2": create_bucket,
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": put_bucket_encryption,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": put_public_access_block,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": put_ownership_controls,
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2": put_lifecycle,
    "aws:s3/bucketPolicy:BucketPolicy": put_bucket_policy,
    "aws:acm/certificate:Certificate": request_certificate,
    "aws:acm/certificateValidation:CertificateValidation": certificate_validation,
    "aws:lb/targetGroup:TargetGroup": create_target_group,
    "aws:lb/loadBalancer:LoadBalancer": create_load_balancer,
    "aws:lb/listener:Listener": create_listener,
    "aws:wafv2/webAcl:WebAcl": create_web_acl,
    "aws:wafv2/webAclAssociation:WebAclAssociation": associate_web_acl,
    "aws:route53/record:Record": change_record,
    "aws:rds/subnetGroup:SubnetGroup": create_db_subnet_group,
    "aws:rds/parameterGroup:ParameterGroup": create_db_parameter_group,
    "aws:rds/instance:Instance": create_db_instance,
    "aws:ecs/cluster:Cluster": create_cluster,
    "aws:ecs/taskDefinition:TaskDefinition": register_task_definition,
    "aws:ecs/service:Service": create_service,
}

# Autoscaling, alarms, SNS and the dashboard (operations.py): the topic and the alarms before
# the ECS services that name them, the scalable targets after the services they scale.
import operations  # noqa: E402  (it imports helpers from this module)

TRANSLATORS = {
    "aws:sns/topic:Topic": operations.create_topic,
    "aws:sns/topicSubscription:TopicSubscription": operations.subscribe,
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": put_metric_filter,
    "aws:cloudwatch/metricAlarm:MetricAlarm": operations.put_metric_alarm,
    **TRANSLATORS,
    "aws:appautoscaling/target:Target": operations.register_scalable_target,
    "aws:appautoscaling/policy:Policy": operations.put_scaling_policy,
    "aws:cloudwatch/dashboard:Dashboard": operations.put_dashboard,
}

# The order in which the replay creates resources: each after what it refers to.
ORDER = list(TRANSLATORS)


def translate(graph):
    """Every call the graph's resources translate to, in creation order, and the resource
    types with no translation."""
    calls = []
    for token in ORDER:
        for r in graph.of_type(token):
            calls += TRANSLATORS[token](r, graph)
    uncovered = sorted({r.type for r in graph.resources if r.custom and r.type not in TRANSLATORS})
    return calls, uncovered
