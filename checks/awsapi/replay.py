"""Replaying a graph's calls through boto3 against moto_server, an AWS API emulator.

The calls run in creation order (translate.ORDER), after the VPC and subnets the graph refers
to and a stand-in for RDS's managed master secret. Where a call refers to another resource by
an id or ARN the mocks made up, the value moto returned for that resource is put in its place
(REFERENCES: security groups, subnets, the VPC, Cloud Map, the task definition, the target
group, ...). Every call must be accepted; a refusal is a finding with the API's message.
"""

import collections
import importlib.util
import ipaddress
import json
import os
import socket
import urllib.request

import boto3
import botocore.config
import botocore.exceptions

import crosscheck
import rules
import translate
from crosscheck import Finding
from graph import MOCK_ACCOUNT, mock_arn

# The prefix list pulumitest's mocks give an S3 gateway endpoint (pulumitest.S3PrefixListId).
MOCK_S3_PREFIX_LIST = "pl-63a5400a"

# Calls moto 5.2.1 does not implement (checked against its source: moto/appmesh/responses.py
# has no create_virtual_service, moto/xray/responses.py only traces and telemetry). They are
# validated against the model only.
NOT_IMPLEMENTED = {
    ("appmesh", "CreateVirtualService"): "moto 5.2.1 does not implement appmesh CreateVirtualService",
    ("xray", "CreateSamplingRule"): "moto 5.2.1 does not implement xray CreateSamplingRule",
    ("xray", "CreateGroup"): "moto 5.2.1 does not implement xray CreateGroup",
    ("ecr", "CreatePullThroughCacheRule"): "moto 5.2.1 does not implement ecr CreatePullThroughCacheRule",
}


def implemented_by_moto(service, operation):
    """Whether moto's responses for service define a handler for operation, read from its
    source (importing moto.xray opens a socket)."""
    moto_dir = os.path.dirname(importlib.util.find_spec("moto").origin)
    with open(os.path.join(moto_dir, service, "responses.py"), encoding="utf-8") as f:
        return f"def {botocore.xform_name(operation)}(" in f.read()


def stale_skips():
    """Calls skipped as not implemented that the installed moto does implement: the skip
    must go, so that they are replayed."""
    return [
        f"the installed moto implements {service} {operation}: remove it from NOT_IMPLEMENTED in replay.py"
        for service, operation in NOT_IMPLEMENTED
        if implemented_by_moto(service, operation)
    ]


def cloud_map_attributes(params):
    """moto 5.2.1 refuses an awsCloudMap service discovery without `attributes`
    (moto/appmesh/utils/spec_parsing.py: "attributes must be defined."), which the API
    model makes optional. Send the equivalent empty list."""
    discovery = params.get("spec", {}).get("serviceDiscovery", {})
    if "awsCloudMap" in discovery and "attributes" not in discovery["awsCloudMap"]:
        discovery["awsCloudMap"]["attributes"] = []
    return params


# Where moto is stricter than the API: a change to the replayed request only, with the
# reason. The model check sees the request as translated.
MOTO_ADAPTATIONS = {
    ("appmesh", "CreateVirtualNode"): cloud_map_attributes,
}

# Calls checked against the model only, by choice.
MODEL_ONLY = {
    ("route53", "ChangeResourceRecordSets"): (
        "route53 ChangeResourceRecordSets is not replayed: the hosted zone is the user's, not the stack's"
    ),
    ("acm", "DescribeCertificate"): (
        "acm DescribeCertificate (the provider's wait for validation) is not replayed: it reads what ACM issued"
    ),
    ("rds", "CreateDBInstance"): (
        "rds CreateDBInstance is not replayed: under the mocks its dbSubnetGroupName is empty (the "
        "subnet group is auto-named); its managed master secret is stood in by secretsmanager CreateSecret"
    ),
}

REGION = "us-east-1"


# --- moto_server ----------------------------------------------------------------------------


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MotoServer:
    """moto's own ThreadedMotoServer on a free loopback port, in this process."""

    def __init__(self):
        from moto.server import ThreadedMotoServer

        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
        self.url = None
        self.clients = {}

    def __enter__(self):
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        return self

    def __exit__(self, *exc):
        self.server.stop()

    def reset(self):
        """Forget every resource, so each graph starts from an empty account."""
        request = urllib.request.Request(self.url + "/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def client(self, service):
        if service not in self.clients:
            session = boto3.session.Session(
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                region_name=REGION,
            )
            config = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"})
            self.clients[service] = session.client(service, endpoint_url=self.url, config=config)
        return self.clients[service]


# --- references between resources ----------------------------------------------------------


# Where a request refers to another resource, and what kind of resource. The mocks give
# every resource the id <name>-id, so a security group and a Cloud Map service of the same
# name share one; the kind says which one is meant.
SECURITY_GROUP_RULE = [
    ("GroupId", "security group"),
    ("IpPermissions[].UserIdGroupPairs[].GroupId", "security group"),
    ("IpPermissions[].PrefixListIds[].PrefixListId", "prefix list"),
]
REFERENCES = {
    ("ec2", "CreateSecurityGroup"): [("VpcId", "vpc")],
    ("ec2", "CreateVpcEndpoint"): [
        ("VpcId", "vpc"),
        ("SubnetIds[]", "subnet"),
        ("SecurityGroupIds[]", "security group"),
        ("RouteTableIds[]", "route table"),
    ],
    ("ec2", "CreateFlowLogs"): [("ResourceIds[]", "vpc"), ("DeliverLogsPermissionArn", "role arn")],
    ("ec2", "AuthorizeSecurityGroupIngress"): SECURITY_GROUP_RULE,
    ("ec2", "AuthorizeSecurityGroupEgress"): SECURITY_GROUP_RULE,
    ("iam", "PutRolePolicy"): [("RoleName", "role")],
    ("elbv2", "CreateTargetGroup"): [("VpcId", "vpc")],
    ("elbv2", "ModifyTargetGroupAttributes"): [("TargetGroupArn", "target group arn")],
    ("elbv2", "CreateLoadBalancer"): [("Subnets[]", "subnet"), ("SecurityGroups[]", "security group")],
    ("elbv2", "ModifyLoadBalancerAttributes"): [("LoadBalancerArn", "load balancer arn")],
    ("elbv2", "CreateListener"): [
        ("LoadBalancerArn", "load balancer arn"),
        ("DefaultActions[].TargetGroupArn", "target group arn"),
        ("Certificates[].CertificateArn", "certificate arn"),
    ],
    ("rds", "CreateDBSubnetGroup"): [("SubnetIds[]", "subnet")],
    ("wafv2", "AssociateWebACL"): [("WebACLArn", "web acl arn"), ("ResourceArn", "load balancer arn")],
    ("servicediscovery", "CreatePrivateDnsNamespace"): [("Vpc", "vpc")],
    ("servicediscovery", "CreateService"): [("NamespaceId", "namespace id"), ("DnsConfig.NamespaceId", "namespace id")],
    ("ecs", "CreateCluster"): [("serviceConnectDefaults.namespace", "namespace arn")],
    ("ecs", "RegisterTaskDefinition"): [("executionRoleArn", "role arn"), ("taskRoleArn", "role arn")],
    ("ecs", "CreateService"): [
        ("cluster", "cluster arn"),
        ("loadBalancers[].targetGroupArn", "target group arn"),
        ("taskDefinition", "task definition arn"),
        ("networkConfiguration.awsvpcConfiguration.subnets[]", "subnet"),
        ("networkConfiguration.awsvpcConfiguration.securityGroups[]", "security group"),
        ("serviceRegistries[].registryArn", "discovery service arn"),
        ("serviceConnectConfiguration.namespace", "namespace arn"),
    ],
}


def resolve_path(value, path, table, seen):
    """value with the reference(s) at path (["a", "b[]", "c"]) replaced from table. Appends
    (reference, whether table has it) to seen; references not in table are left as they are."""
    if not path:
        seen.append((value, value in table))
        return table.get(value, value)
    key, many = path[0].removesuffix("[]"), path[0].endswith("[]")
    if not isinstance(value, dict) or key not in value:
        return value
    out = dict(value)
    if many:
        out[key] = [resolve_path(v, path[1:], table, seen) for v in value[key]]
    else:
        out[key] = resolve_path(value[key], path[1:], table, seen)
    return out


def strings(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)
    elif isinstance(value, str):
        yield value


def api_error(e):
    if isinstance(e, botocore.exceptions.ClientError):
        err = e.response.get("Error", {})
        return f"{err.get('Code')}: {err.get('Message')}"
    return str(e).replace("\n", " ")


# --- the replay ---------------------------------------------------------------------------------


class Replay:
    def __init__(self, moto, graph):
        self.moto = moto
        self.graph = graph
        self.ids = collections.defaultdict(dict)  # kind -> {the mocks' id or ARN: moto's}
        self.accepted = collections.Counter()  # "service Operation" -> count
        self.skipped = collections.Counter()  # reason -> count
        self.resolved = collections.Counter()  # what cross-reference -> count
        self.findings = []
        self.virtual_node_arns = set()

    def client(self, service):
        return self.moto.client(service)

    def call(self, service, operation, params, subject):
        """One request; its response, or None and a finding with the API's message."""
        method = getattr(self.client(service), botocore.xform_name(operation))
        try:
            response = method(**params)
        except (botocore.exceptions.ClientError, botocore.exceptions.ParamValidationError) as e:
            where = "refused" if isinstance(e, botocore.exceptions.ClientError) else "refused by botocore before sending"
            self.findings.append(Finding("replay", subject, f"{service} {operation} {where}: {api_error(e)}"))
            return None
        self.accepted[f"{service} {operation}"] += 1
        return response

    def run(self, calls):
        self.scaffold_network(calls)
        self.stand_in_secrets()
        for call in calls:
            key = (call.service, call.operation)
            if key in NOT_IMPLEMENTED or key in MODEL_ONLY:
                self.skipped[NOT_IMPLEMENTED.get(key) or MODEL_ONLY[key]] += 1
                continue
            params = MOTO_ADAPTATIONS.get(key, lambda p: p)(self.resolve(call, key))
            response = self.call(call.service, call.operation, params, call.resource.label())
            if response is not None:
                RECORDERS.get(call.operation, lambda *a: None)(self, call, response)
        self.check_secret_references(calls)
        self.check_envoy_resources(calls)
        return self

    def resolve(self, call, key):
        """call's params with the references to other resources replaced by moto's ids."""
        params = call.params
        for path, kind in REFERENCES.get(key, []):
            seen = []
            params = resolve_path(params, path.split("."), self.ids[kind], seen)
            for ref, found in seen:
                if found:
                    self.resolved[kind] += 1
                else:
                    message = f"{call.label()}: {path} refers to {ref!r}, which is no {kind} of the stack"
                    self.findings.append(Finding("replay", call.resource.label(), message))
        return params

    # --- what the graph takes from outside: the VPC and its subnets (awsx), RDS's secret ---

    def scaffold_network(self, calls):
        """The awsx VPC is a component whose subnets the graph only knows by the mocks'
        ids; create the VPC and one subnet per id the calls use."""
        for vpc in self.graph.of_type("awsx:ec2:Vpc"):
            cidr = vpc.inputs.get("cidrBlock", "10.0.0.0/16")
            response = self.call("ec2", "CreateVpc", {"CidrBlock": cidr}, vpc.label())
            if response is None:
                return
            vpc_id = self.ids["vpc"]["vpc-" + vpc.name] = response["Vpc"]["VpcId"]  # mocks: vpc-<name>
            subnet_ids = sorted({s for call in calls for s in strings(call.params) if s.startswith("subnet-")})
            blocks = ipaddress.ip_network(cidr).subnets(new_prefix=24)
            for mock_subnet, block in zip(subnet_ids, blocks):
                zone = REGION + ("b" if mock_subnet.endswith("-b") else "a")
                params = {"VpcId": vpc_id, "CidrBlock": str(block), "AvailabilityZone": zone}
                response = self.call("ec2", "CreateSubnet", params, vpc.label())
                if response:
                    self.ids["subnet"][mock_subnet] = response["Subnet"]["SubnetId"]
            # The route tables ec2.getRouteTables answers with under the mocks (the S3 gateway
            # endpoint's).
            for mock_table in sorted({s for call in calls for s in strings(call.params) if s.startswith("rtb-")}):
                response = self.call("ec2", "CreateRouteTable", {"VpcId": vpc_id}, vpc.label())
                if response:
                    self.ids["route table"][mock_table] = response["RouteTable"]["RouteTableId"]

    def stand_in_secrets(self):
        """RDS creates the master user secret of a manageMasterUserPassword instance; the
        mocks name it arn:...:secret:rds!db-<identifier>-AbCdEf. Stand in for it."""
        for db in self.graph.of_type("aws:rds/instance:Instance"):
            if not db.inputs.get("manageMasterUserPassword"):
                continue
            identifier = db.inputs.get("identifier", db.name)
            value = json.dumps({"username": db.inputs.get("username", ""), "password": "stand-in"})
            params = {"Name": f"rds!db-{identifier}", "SecretString": value}
            response = self.call("secretsmanager", "CreateSecret", params, db.label())
            if response:
                self.ids["secret"][mock_arn("secretsmanager", f"secret:rds!db-{identifier}-AbCdEf")] = response["ARN"]

    # --- cross-references that only resolve against created resources ---

    def check_secret_references(self, calls):
        """Every secrets[].valueFrom names a created secret and, if given, a key it holds."""
        sm = self.client("secretsmanager")
        for call in crosscheck.calls_of(calls, "RegisterTaskDefinition"):
            for c in crosscheck.task_containers(call):
                for s in rules.items(c, "secrets"):
                    message = self.secret_reference_problem(sm, s.get("valueFrom", ""))
                    if message:
                        message = f"container {c.get('name')}: secret {s.get('name')}: {message}"
                        self.findings.append(Finding("replay", call.resource.label(), message))
                    else:
                        self.resolved["secret and its key (secrets[].valueFrom)"] += 1

    def secret_reference_problem(self, sm, value_from):
        if not isinstance(value_from, str) or not value_from.startswith("arn:aws:secretsmanager:"):
            return f"valueFrom {value_from!r} is not a Secrets Manager ARN; this check resolves only those"
        arn = crosscheck.secret_arn(value_from)
        if arn not in self.ids["secret"]:
            return f"valueFrom {value_from} names no secret of the stack"
        key, stage = (value_from.split(":")[7:9] + ["", ""])[:2]
        params = {"SecretId": self.ids["secret"][arn]}
        if stage:
            params["VersionStage"] = stage
        try:
            secret = sm.get_secret_value(**params)
        except botocore.exceptions.ClientError as e:
            return f"valueFrom {value_from} does not resolve: {api_error(e)}"
        if key and key not in json.loads(secret.get("SecretString") or "{}"):
            return f"valueFrom {value_from}: the secret has no key {key!r}"
        return None

    def check_envoy_resources(self, calls):
        """Envoy's APPMESH_RESOURCE_ARN names a virtual node created in the mesh."""
        for call in crosscheck.calls_of(calls, "RegisterTaskDefinition"):
            for c in crosscheck.task_containers(call):
                arn = rules.environment(c).get("APPMESH_RESOURCE_ARN")
                if not arn:
                    continue
                if arn in self.virtual_node_arns:
                    self.resolved["virtual node (Envoy's APPMESH_RESOURCE_ARN)"] += 1
                else:
                    created = sorted(self.virtual_node_arns)
                    message = f"container {c.get('name')}: APPMESH_RESOURCE_ARN {arn} is not a virtual node moto created ({created})"
                    self.findings.append(Finding("replay", call.resource.label(), message))


# --- what each accepted call tells us about ids ----------------------------------------------


def record_security_group(replay, call, response):
    replay.ids["security group"][call.resource.mock_id] = response["GroupId"]


def record_vpc_endpoint(replay, call, response):
    """A gateway endpoint's prefix list: the mocks' S3PrefixListId stands for the one AWS (and
    moto) keeps for the service, which the egress rules name."""
    endpoint = response["VpcEndpoint"]
    if endpoint.get("VpcEndpointType", "").lower() != "gateway":
        return
    lists = replay.client("ec2").describe_prefix_lists(Filters=[{"Name": "prefix-list-name", "Values": [call.params["ServiceName"]]}])
    for pl in lists.get("PrefixLists", []):
        replay.ids["prefix list"][MOCK_S3_PREFIX_LIST] = pl["PrefixListId"]


def record_role(replay, call, response):
    role = response["Role"]
    replay.ids["role"][role["RoleName"]] = role["RoleName"]  # PutRolePolicy names it (translate.role_name)
    replay.ids["role arn"][f"arn:aws:iam::{MOCK_ACCOUNT}:role/{call.params['RoleName']}"] = role["Arn"]


def record_policy(replay, call, response):
    replay.ids["policy arn"][f"arn:aws:iam::{MOCK_ACCOUNT}:policy/{call.params['PolicyName']}"] = response["Policy"]["Arn"]


def record_namespace(replay, call, response):
    sd = replay.client("servicediscovery")
    operation = sd.get_operation(OperationId=response["OperationId"])["Operation"]
    namespace = sd.get_namespace(Id=operation["Targets"]["NAMESPACE"])["Namespace"]
    replay.ids["namespace id"][call.resource.mock_id] = namespace["Id"]
    replay.ids["namespace arn"][mock_arn("servicediscovery", f"namespace/ns-{call.resource.name}")] = namespace["Arn"]


def record_discovery_service(replay, call, response):
    replay.ids["discovery service arn"][mock_arn("servicediscovery", f"service/srv-{call.resource.name}")] = response["Service"]["Arn"]


def record_task_definition(replay, call, response):
    family = call.params["family"]
    replay.ids["task definition arn"][mock_arn("ecs", f"task-definition/{family}:1")] = response["taskDefinition"]["taskDefinitionArn"]


def record_cluster(replay, call, response):
    replay.ids["cluster arn"][mock_arn("ecs", f"cluster/{call.params['clusterName']}")] = response["cluster"]["clusterArn"]


def record_target_group(replay, call, response):
    arn = response["TargetGroups"][0]["TargetGroupArn"]
    replay.ids["target group arn"][translate.mock_target_group_arn(call.resource)] = arn


def record_load_balancer(replay, call, response):
    arn = response["LoadBalancers"][0]["LoadBalancerArn"]
    replay.ids["load balancer arn"][translate.mock_load_balancer_arn(call.resource)] = arn


def record_certificate(replay, call, response):
    replay.ids["certificate arn"][translate.mock_arn("acm", f"certificate/{call.resource.name}")] = response["CertificateArn"]


def record_web_acl(replay, call, response):
    # The mocks' ARN of a web ACL: arn:aws:wafv2:<region>:<account>:regional/webacl/<name>/0123abcd.
    mock = translate.mock_arn("wafv2", f"regional/webacl/{call.resource.name}/0123abcd")
    replay.ids["web acl arn"][mock] = response["Summary"]["ARN"]


def record_virtual_node(replay, call, response):
    replay.virtual_node_arns.add(response["virtualNode"]["metadata"]["arn"])


def record_create_service(replay, call, response):
    if call.service == "servicediscovery":  # ecs CreateService has nothing to record
        record_discovery_service(replay, call, response)


RECORDERS = {
    "CreateSecurityGroup": record_security_group,
    "CreateVpcEndpoint": record_vpc_endpoint,
    "CreateRole": record_role,
    "CreatePolicy": record_policy,
    "CreatePrivateDnsNamespace": record_namespace,
    "CreateService": record_create_service,
    "RegisterTaskDefinition": record_task_definition,
    "CreateCluster": record_cluster,
    "CreateVirtualNode": record_virtual_node,
    "CreateTargetGroup": record_target_group,
    "CreateLoadBalancer": record_load_balancer,
    "CreateWebACL": record_web_acl,
    "RequestCertificate": record_certificate,
}
