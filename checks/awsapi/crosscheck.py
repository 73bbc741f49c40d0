"""Checks across the resources of one graph: policies, task definitions and what their roles
allow, the collector config, log groups, services against their task definitions.

Each check takes the graph and the translated calls and returns Findings.
"""

import re
from dataclasses import dataclass

import rules
import translate
from graph import MOCK_ACCOUNT, MOCK_REGION


@dataclass
class Finding:
    check: str  # model, policy, ecs, permissions, adot, logs, replay, ...
    subject: str  # the resource, e.g. "aws:ecs/taskDefinition:TaskDefinition products"
    message: str


def calls_of(calls, operation):
    return [c for c in calls if c.operation == operation]


def region(graph):
    return graph.config.get("aws:region", MOCK_REGION)


# --- IAM documents ----------------------------------------------------------------------------


def policy_documents(graph):
    """(resource, kind, text) for every trust and identity policy document in the graph."""
    docs = []
    for r in graph.of_type("aws:iam/role:Role"):
        docs.append((r, "trust", r.inputs.get("assumeRolePolicy")))
        for p in r.inputs.get("inlinePolicies") or []:
            docs.append((r, "identity", p.get("policy")))
    for token in ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"):
        for r in graph.of_type(token):
            docs.append((r, "identity", r.inputs.get("policy")))
    return docs


def check_policies(graph, calls):
    findings = []
    for r, kind, text in policy_documents(graph):
        for message in rules.check_policy(text, kind):
            findings.append(Finding("policy", r.label(), f"{kind} policy: {message}"))
    return findings


def role_policies(graph):
    """role name -> the identity policy documents attached to it."""
    policies = {translate.physical_name(r): [] for r in graph.of_type("aws:iam/role:Role")}
    managed = {
        f"arn:aws:iam::{MOCK_ACCOUNT}:policy/{translate.physical_name(p)}": p.inputs.get("policy")
        for p in graph.of_type("aws:iam/policy:Policy")
    }
    for r in graph.of_type("aws:iam/role:Role"):
        policies[translate.physical_name(r)] += [p.get("policy") for p in r.inputs.get("inlinePolicies") or []]
    for r in graph.of_type("aws:iam/rolePolicy:RolePolicy"):
        policies.setdefault(translate.role_name(graph, r.inputs.get("role")), []).append(r.inputs.get("policy"))
    for r in graph.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        text = managed.get(r.inputs.get("policyArn"))
        if text:
            policies.setdefault(translate.role_name(graph, r.inputs.get("role")), []).append(text)
    return policies


# --- ECS task definitions --------------------------------------------------------------------


def task_containers(call):
    containers = call.params.get("containerDefinitions")
    return [c for c in containers if isinstance(c, dict)] if isinstance(containers, list) else []


def check_task_definitions(graph, calls):
    findings = []
    for call in calls_of(calls, "RegisterTaskDefinition"):
        for message in rules.check_task_definition(call.params):
            findings.append(Finding("ecs", call.resource.label(), message))
    return findings


ECR_IMAGE = re.compile(r"^(\d+)\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([^:@]+)")
XRAY_SIDECAR_IMAGES = ("aws-xray-daemon", "aws-otel-collector")


def secret_arn(value_from):
    """The secret ARN of a Secrets Manager valueFrom (dropping :json-key:stage:version)."""
    return ":".join(value_from.split(":")[:7])


def logs_needs(options, container_name, graph):
    stream = f"{options.get('awslogs-stream-prefix', '')}/{container_name}/0"
    group = options.get("awslogs-group")
    arn = f"arn:aws:logs:{region(graph)}:{MOCK_ACCOUNT}:log-group:{group}:log-stream:{stream}"
    return [("logs:CreateLogStream", arn), ("logs:PutLogEvents", arn)]


def execution_role_needs(call, graph):
    """What ECS does with a task's execution role before and while it runs the task."""
    needs = []
    for c in task_containers(call):
        image = ECR_IMAGE.match(c.get("image", ""))
        if image:
            account, image_region, repository = image.groups()
            repo_arn = f"arn:aws:ecr:{image_region}:{account}:repository/{repository}"
            needs += [("ecr:GetAuthorizationToken", "*"), ("ecr:BatchGetImage", repo_arn), ("ecr:GetDownloadUrlForLayer", repo_arn)]
        log = c.get("logConfiguration") or {}
        if log.get("logDriver") == "awslogs":
            needs += logs_needs(log.get("options") or {}, c.get("name"), graph)
        for s in rules.items(c, "secrets"):
            value_from = s.get("valueFrom", "")
            if value_from.startswith("arn:aws:secretsmanager:"):
                needs.append(("secretsmanager:GetSecretValue", secret_arn(value_from)))
            else:
                needs.append(("ssm:GetParameters", value_from))
    return needs


def task_role_needs(call):
    """What the task's own containers call AWS for: Envoy's mesh config, the X-Ray sidecar."""
    needs = []
    for c in task_containers(call):
        arn = rules.environment(c).get("APPMESH_RESOURCE_ARN")
        if arn:
            needs.append(("appmesh:StreamAggregatedResources", arn))
        if any(image in c.get("image", "") for image in XRAY_SIDECAR_IMAGES):
            needs += [(a, "*") for a in ("xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets")]
    return needs


def check_role_grants(graph, subject, role_arn, what, needs, policies):
    if not needs:
        return []
    if not role_arn:
        return [Finding("permissions", subject, f"no {what} role, but the task needs {sorted({a for a, _ in needs})}")]
    name = translate.role_name(graph, role_arn)
    if name not in policies:
        return [Finding("permissions", subject, f"{what} role {role_arn} is not a role of the stack")]
    findings = []
    for action, resource in dict.fromkeys(needs):
        if not rules.allows(policies[name], action, resource):
            findings.append(Finding("permissions", subject, f"{what} role {name} does not allow {action} on {resource}"))
    return findings


def check_task_permissions(graph, calls):
    policies = role_policies(graph)
    findings = []
    for call in calls_of(calls, "RegisterTaskDefinition"):
        subject = call.resource.label()
        p = call.params
        findings += check_role_grants(graph, subject, p.get("executionRoleArn"), "execution", execution_role_needs(call, graph), policies)
        findings += check_role_grants(graph, subject, p.get("taskRoleArn"), "task", task_role_needs(call), policies)
    for call in calls_of(calls, "CreateService"):
        if call.service != "ecs":
            continue
        log = (call.params.get("serviceConnectConfiguration") or {}).get("logConfiguration") or {}
        task = task_definition_of(call, calls)
        if log.get("logDriver") == "awslogs" and task:
            needs = logs_needs(log.get("options") or {}, "ecs-service-connect", graph)
            role = task.params.get("executionRoleArn")
            findings += check_role_grants(graph, call.resource.label(), role, "execution", needs, policies)
    return findings


# --- ECS services ------------------------------------------------------------------------------


def task_definition_of(service_call, calls):
    """The RegisterTaskDefinition call a service's taskDefinition (an ARN or family:rev) names."""
    ref = service_call.params.get("taskDefinition", "")
    family = ref.split("/")[-1].split(":")[0]
    for call in calls_of(calls, "RegisterTaskDefinition"):
        if call.params.get("family") == family:
            return call
    return None


def check_services(graph, calls):
    findings = []
    for call in calls_of(calls, "CreateService"):
        if call.service != "ecs":
            continue
        task = task_definition_of(call, calls)
        if task is None:
            message = f"taskDefinition {call.params.get('taskDefinition')!r} is not a task definition of the stack"
            findings.append(Finding("ecs", call.resource.label(), message))
            continue
        findings += [Finding("ecs", call.resource.label(), m) for m in service_against_task(call.params, task_containers(task))]
    return findings


def service_against_task(service, containers):
    """ECS refuses a service whose load balancer or Service Connect port is not in its task."""
    errors = []
    ports = {(c.get("name"), pm.get("containerPort")) for c in containers for pm in rules.items(c, "portMappings")}
    for lb in service.get("loadBalancers", []):
        if (lb.get("containerName"), lb.get("containerPort")) not in ports:
            errors.append(f"loadBalancers: container {lb.get('containerName')!r} has no containerPort {lb.get('containerPort')} in the task definition")
    port_names = {pm.get("name") for c in containers for pm in rules.items(c, "portMappings") if pm.get("name")}
    for s in (service.get("serviceConnectConfiguration") or {}).get("services", []):
        if s.get("portName") not in port_names:
            errors.append(f"serviceConnectConfiguration: portName {s.get('portName')!r} is not a named portMapping of the task ({sorted(port_names)})")
    return errors


# --- log groups ---------------------------------------------------------------------------------


def awslogs_groups(calls):
    """(subject, group) for every awslogs log configuration."""
    used = []
    for call in calls_of(calls, "RegisterTaskDefinition"):
        for c in task_containers(call):
            log = c.get("logConfiguration") or {}
            if log.get("logDriver") == "awslogs":
                used.append((call.resource.label(), (log.get("options") or {}).get("awslogs-group")))
    for call in calls_of(calls, "CreateService"):
        log = (call.params.get("serviceConnectConfiguration") or {}).get("logConfiguration") or {}
        if log.get("logDriver") == "awslogs":
            used.append((call.resource.label(), (log.get("options") or {}).get("awslogs-group")))
    return used


def check_logs(graph, calls):
    findings = []
    for call in calls_of(calls, "PutRetentionPolicy"):
        findings += [Finding("logs", call.resource.label(), m) for m in rules.check_retention(call.params.get("retentionInDays"))]
    declared = {c.params.get("logGroupName") for c in calls_of(calls, "CreateLogGroup")}
    for subject, group in awslogs_groups(calls):
        if group not in declared:
            findings.append(Finding("logs", subject, f"awslogs-group {group!r} is not a log group of the stack (awslogs-create-group is not used)"))
    return findings


# --- ADOT collector -----------------------------------------------------------------------------


def check_collector(graph, calls):
    findings = []
    adot = graph.mode("tracingMode") == "adot"
    for call in calls_of(calls, "RegisterTaskDefinition"):
        subject = call.resource.label()
        containers = task_containers(call)
        configs = [rules.environment(c)["AOT_CONFIG_CONTENT"] for c in containers if "AOT_CONFIG_CONTENT" in rules.environment(c)]
        if adot and not configs:
            findings.append(Finding("adot", subject, "tracing mode adot, but no container has AOT_CONFIG_CONTENT"))
        for text in configs:
            messages = rules.check_collector_config(text)
            findings += [Finding("adot", subject, m) for m in messages]
            if not messages:
                findings += daemon_address_findings(subject, containers, text)
    return findings


def daemon_address_findings(subject, containers, collector_config):
    """AWS_XRAY_DAEMON_ADDRESS must be where the awsxray receiver takes segments (UDP: the X-Ray
    SDK, Envoy) and where its proxy_server listens (TCP: the sampling rules and quotas that the
    X-Ray SDK and the OpenTelemetry path's sampler poll)."""
    endpoint = rules.awsxray_endpoint(collector_config)
    proxy = rules.awsxray_proxy_endpoint(collector_config)
    findings = []
    for c in containers:
        address = rules.environment(c).get("AWS_XRAY_DAEMON_ADDRESS")
        if not address:
            continue
        udp, tcp = rules.daemon_addresses(address)
        where = f"container {c.get('name')}: AWS_XRAY_DAEMON_ADDRESS {address}"
        if udp != endpoint:
            findings.append(Finding("adot", subject, f"{where}: UDP {udp} is not the awsxray receiver's endpoint {endpoint}"))
        if tcp != proxy:
            findings.append(Finding("adot", subject, f"{where}: TCP {tcp} is not the awsxray receiver's proxy_server.endpoint {proxy}, where sampling is polled"))
    return findings


CHECKS = [check_policies, check_task_definitions, check_task_permissions, check_services, check_logs, check_collector]


def check_graph(graph, calls):
    findings = []
    for check in CHECKS:
        try:
            findings += check(graph, calls)
        except Exception as e:  # a payload shaped so oddly that a check cannot read it
            findings.append(Finding("check", check.__name__, f"could not run: {type(e).__name__}: {e}"))
    return findings
