"""Rules the services enforce that botocore's models cannot express.

Each rule cites where AWS states it (the API reference text shipped in botocore's models,
or the service guide). Every function returns a list of messages; empty means it holds.
"""

import fnmatch
import json
import os
import re

import yaml

# --- IAM policy documents -----------------------------------------------------------------

STATEMENT_KEYS = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal", "NotPrincipal", "Condition"}

# Actions that may be granted on "Resource": "*", and why. Anything else must name its
# resources.
ANY_RESOURCE_ALLOWED = {
    "ecr:GetAuthorizationToken": "the registry login token is account-wide; no resource-level permissions",
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions for writing segments",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions for telemetry",
    "xray:GetSamplingRules": "the SDK and daemon read all sampling rules; no resource-level permissions",
    "xray:GetSamplingTargets": "no resource-level permissions",
    "xray:GetSamplingStatisticSummaries": "no resource-level permissions",
}

# Wildcard actions ("*", "s3:*", "ecr:Get*") that may be granted, and why. None is needed.
WILDCARD_ACTIONS_ALLOWED = {}

ACTION_FORMAT = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9*?]+$")


def as_list(value):
    return value if isinstance(value, list) else [value]


def items(container, key):
    """The objects in a list field of a payload; a field of the wrong type (which the model
    check reports) gives none, so the rules never trip over it."""
    value = container.get(key) if isinstance(container, dict) else None
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def number(value):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def parse_policy(text):
    """A policy document as a dict, or None and the reason."""
    if not isinstance(text, str):
        return None, f"the policy is not a JSON string: {text!r}"
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        return None, f"the policy is not valid JSON: {e}"
    if not isinstance(doc, dict):
        return None, "the policy is not a JSON object"
    return doc, None


def check_policy(text, kind):
    """kind is "trust" (a role's assume-role policy) or "identity" (what a role may do)."""
    doc, problem = parse_policy(text)
    if problem:
        return [problem]
    errors = []
    if doc.get("Version") != "2012-10-17":
        errors.append(f'Version is {doc.get("Version")!r}, must be "2012-10-17"')
    unknown = sorted(set(doc) - {"Version", "Id", "Statement"})
    if unknown:
        errors.append(f"unknown top-level keys {unknown}")
    statements = doc.get("Statement")
    if not statements:
        return errors + ["Statement is missing or empty"]
    sids = []
    for i, statement in enumerate(as_list(statements)):
        if not isinstance(statement, dict):
            errors.append(f"statement {i} is not an object")
            continue
        where = f"statement {i}" + (f" ({statement['Sid']})" if "Sid" in statement else "")
        errors += [f"{where}: {e}" for e in check_statement(statement, kind)]
        if "Sid" in statement:
            sids.append(statement["Sid"])
    duplicates = sorted({s for s in sids if sids.count(s) > 1})
    if duplicates:
        errors.append(f"duplicate Sid {duplicates}")
    return errors


def check_statement(s, kind):
    errors = []
    unknown = sorted(set(s) - STATEMENT_KEYS)
    if unknown:
        errors.append(f"unknown keys {unknown}")
    if "Effect" not in s:
        errors.append("Effect is missing (must be Allow or Deny)")
    elif s["Effect"] not in ("Allow", "Deny"):
        errors.append(f"Effect is {s['Effect']!r}, must be Allow or Deny")
    if "Sid" in s and not re.fullmatch(r"[A-Za-z0-9]*", str(s["Sid"])):
        errors.append(f"Sid {s['Sid']!r} must be alphanumeric")
    errors += check_actions(s)
    if kind == "trust":
        errors += check_trust_statement(s)
    else:
        errors += check_identity_statement(s)
    return errors


def check_actions(s):
    if ("Action" in s) == ("NotAction" in s):
        return ["needs exactly one of Action and NotAction"]
    errors = []
    for action in as_list(s.get("Action", s.get("NotAction"))):
        if not isinstance(action, str) or (action != "*" and not ACTION_FORMAT.match(action)):
            errors.append(f"action {action!r} is not of the form service:Action")
        elif ("*" in action or "?" in action) and action not in WILDCARD_ACTIONS_ALLOWED:
            errors.append(f"action {action!r} is a wildcard; name the actions (or allow-list it in rules.py with a reason)")
    return errors


def check_trust_statement(s):
    errors = []
    if "Principal" not in s and "NotPrincipal" not in s:
        errors.append("a trust policy statement needs a Principal")
    if "Resource" in s or "NotResource" in s:
        errors.append("a trust policy statement must not have a Resource (IAM: Has prohibited field Resource)")
    return errors


def check_identity_statement(s):
    errors = []
    if "Principal" in s or "NotPrincipal" in s:
        errors.append("an identity policy statement must not have a Principal")
    if "Resource" not in s and "NotResource" not in s:
        return errors + ["Resource is missing (an identity policy statement needs Resource or NotResource)"]
    if "*" in as_list(s.get("Resource", [])) and s.get("Effect") == "Allow":
        for action in as_list(s.get("Action", [])):
            if action not in ANY_RESOURCE_ALLOWED:
                errors.append(f'action {action!r} is granted on Resource "*"; name the resources (or allow-list it in rules.py with a reason)')
    return errors


def statement_allows(s, action, resource):
    """Whether one Allow statement grants action on resource (conditions are not evaluated)."""
    if s.get("Effect") != "Allow":
        return False
    if "Action" in s:
        action_ok = any(fnmatch.fnmatch(action.lower(), a.lower()) for a in as_list(s["Action"]))
    else:
        action_ok = not any(fnmatch.fnmatch(action.lower(), a.lower()) for a in as_list(s.get("NotAction", [])))
    if "Resource" in s:
        resource_ok = any(fnmatch.fnmatchcase(resource, r) for r in as_list(s["Resource"]))
    else:
        resource_ok = not any(fnmatch.fnmatchcase(resource, r) for r in as_list(s.get("NotResource", [])))
    return action_ok and resource_ok


def allows(policy_texts, action, resource):
    for text in policy_texts:
        doc, problem = parse_policy(text)
        if problem:
            continue
        if any(isinstance(s, dict) and statement_allows(s, action, resource) for s in as_list(doc.get("Statement", []))):
            return True
    return False


# --- ECS task definitions -----------------------------------------------------------------

def aws_limits():
    """The AWS limits stated once for Go and Python: components/taskspec/awslimits.json."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "components", "taskspec", "awslimits.json")
    with open(path) as f:
        return json.load(f)


# Fargate task sizes: cpu units -> the memory (MiB) each allows.
FARGATE_SIZES = {
    s["cpu"]: s.get("memory", []) + list(range(s.get("from", 0), s.get("to", -1) + 1, s.get("step", 1)))
    for s in aws_limits()["fargateSizes"]
}

# HealthCheck ranges, from the API reference (botocore's ecs model documentation).
HEALTH_CHECK_RANGES = {"interval": (5, 300), "timeout": (2, 60), "retries": (1, 10), "startPeriod": (0, 300)}


def check_task_definition(td):
    """td: RegisterTaskDefinition params (containerDefinitions parsed)."""
    containers = td.get("containerDefinitions")
    if not isinstance(containers, list) or not containers:
        return ["containerDefinitions is empty or not a list"]
    containers = [c for c in containers if isinstance(c, dict)]
    errors = check_container_names(containers)
    if not any(c.get("essential", True) for c in containers):
        errors.append("no container is essential; ECS requires at least one")
    names = {c.get("name") for c in containers}
    for c in containers:
        errors += [f"container {c.get('name')}: {e}" for e in check_container(c, names, containers, td)]
    proxy = td.get("proxyConfiguration")
    if proxy and proxy.get("containerName") not in names:
        errors.append(f"proxyConfiguration.containerName {proxy.get('containerName')!r} is not a container of the task")
    if "FARGATE" in td.get("requiresCompatibilities", []):
        errors += check_fargate(td, containers)
    return errors


def check_container_names(containers):
    names = [c.get("name") for c in containers]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    return [f"container name {n!r} is used twice" for n in duplicates]


def check_container(c, names, containers, td):
    errors = []
    by_name = {x.get("name"): x for x in containers}
    for d in items(c, "dependsOn"):
        target = d.get("containerName")
        if target not in names or target == c.get("name"):
            errors.append(f"dependsOn names {target!r}, which is not another container of the task")
        elif d.get("condition") == "HEALTHY" and "healthCheck" not in by_name[target]:
            errors.append(f"dependsOn {target!r} HEALTHY, but {target!r} has no healthCheck (ECS: the condition requires one)")
        elif d.get("condition") in ("SUCCESS", "COMPLETE") and by_name[target].get("essential", True):
            errors.append(f"dependsOn {target!r} {d.get('condition')}, but {target!r} is essential (ECS: the condition cannot be set on an essential container)")
    if "healthCheck" in c:
        errors += check_health_check(c["healthCheck"])
    if td.get("networkMode") == "awsvpc":
        for pm in items(c, "portMappings"):
            if "hostPort" in pm and pm["hostPort"] != pm.get("containerPort"):
                errors.append(f"portMapping hostPort {pm['hostPort']} differs from containerPort {pm.get('containerPort')} (awsvpc requires them equal)")
    log = c.get("logConfiguration") or {}
    if log.get("logDriver") == "awslogs" and "FARGATE" in td.get("requiresCompatibilities", []):
        options = log.get("options") or {}
        for key in ("awslogs-group", "awslogs-region", "awslogs-stream-prefix"):
            if key not in options:
                errors.append(f"logConfiguration awslogs without {key} (required on Fargate)")
    return errors


def check_health_check(hc):
    errors = []
    command = hc.get("command") or []
    if not command or command[0] not in ("CMD", "CMD-SHELL"):
        errors.append(
            f"healthCheck.command {command!r} must start with CMD or CMD-SHELL (ECS API reference, HealthCheck.command)"
        )
    for key, (low, high) in HEALTH_CHECK_RANGES.items():
        if key in hc and not low <= hc[key] <= high:
            errors.append(f"healthCheck.{key} {hc[key]} is outside {low}..{high}")
    return errors


def check_fargate(td, containers):
    errors = []
    if td.get("networkMode") != "awsvpc":
        errors.append(f"networkMode {td.get('networkMode')!r}: Fargate requires awsvpc")
    cpu, memory = td.get("cpu"), td.get("memory")
    if not (isinstance(cpu, str) and cpu.isdigit() and isinstance(memory, str) and memory.isdigit()):
        return errors + [f"cpu {cpu!r} and memory {memory!r} must be given, in CPU units and MiB, for Fargate"]
    cpu, memory = int(cpu), int(memory)
    if cpu not in FARGATE_SIZES:
        return errors + [f"cpu {cpu} is not a Fargate size (one of {sorted(FARGATE_SIZES)})"]
    if memory not in FARGATE_SIZES[cpu]:
        allowed = FARGATE_SIZES[cpu]
        errors.append(f"memory {memory} does not go with cpu {cpu} on Fargate (allowed: {allowed[0]}..{allowed[-1]}: {allowed})")
    container_cpu = sum(number(c.get("cpu")) for c in containers)
    if container_cpu > cpu:
        errors.append(f"the containers reserve {container_cpu} cpu units, more than the task's {cpu}")
    container_memory = sum(number(c.get("memoryReservation", c.get("memory"))) for c in containers)
    if container_memory > memory:
        errors.append(f"the containers reserve {container_memory} MiB, more than the task's {memory}")
    return errors


def environment(container):
    return {e.get("name"): e.get("value") for e in items(container, "environment")}


# --- ADOT collector configuration ----------------------------------------------------------

REQUIRED_TRACES = {"receivers": {"awsxray", "otlp"}, "exporters": {"awsxray"}}


def check_collector_config(text):
    """The collector's YAML config names the receivers and exporter the traces need."""
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as e:
        return [f"AOT_CONFIG_CONTENT is not valid YAML: {e}"]
    if not isinstance(config, dict):
        return ["AOT_CONFIG_CONTENT is not a YAML mapping"]
    errors = []
    for section, names in REQUIRED_TRACES.items():
        missing = sorted(names - set(config.get(section) or {}))
        if missing:
            errors.append(f"{section} {missing} are not defined")
    pipelines = (config.get("service") or {}).get("pipelines") or {}
    traces = pipelines.get("traces") if isinstance(pipelines, dict) else None
    if not isinstance(traces, dict):
        return errors + ["service.pipelines.traces is missing"]
    for section, names in REQUIRED_TRACES.items():
        missing = sorted(names - set(traces.get(section) or []))
        if missing:
            errors.append(f"service.pipelines.traces.{section} lacks {missing}")
    errors += undefined_components(config, pipelines)
    return errors


def undefined_components(config, pipelines):
    """Every component a pipeline or the service names must be defined (or the collector exits)."""
    errors = []
    for pipeline, spec in pipelines.items():
        for section in ("receivers", "processors", "exporters"):
            for name in (spec if isinstance(spec, dict) else {}).get(section) or []:
                if name not in (config.get(section) or {}):
                    errors.append(f"pipeline {pipeline} uses {section[:-1]} {name!r}, which is not defined")
    for name in (config.get("service") or {}).get("extensions") or []:
        if name not in (config.get("extensions") or {}):
            errors.append(f"service uses extension {name!r}, which is not defined")
    return errors


def awsxray_receiver(text):
    config = yaml.safe_load(text) or {}
    return (config.get("receivers") or {}).get("awsxray") or {}


def awsxray_endpoint(text):
    """Where the awsxray receiver takes segments (UDP)."""
    return awsxray_receiver(text).get("endpoint")


def awsxray_proxy_endpoint(text):
    """Where the awsxray receiver's X-Ray proxy listens (TCP): the apps poll X-Ray's sampling rules
    and quotas there (apps/internal/tracing/xraysampler.go)."""
    return (awsxray_receiver(text).get("proxy_server") or {}).get("endpoint")


def daemon_addresses(value):
    """The (UDP, TCP) addresses of an AWS_XRAY_DAEMON_ADDRESS, as the X-Ray SDK and the apps read
    it: "host:port" is both; "tcp:host:port udp:host:port" (either order) names each."""
    if " " not in value and not value.startswith(("tcp:", "udp:")):
        return value, value
    udp = tcp = None
    for part in value.split():
        if part.startswith("tcp:"):
            tcp = part[len("tcp:"):]
        elif part.startswith("udp:"):
            udp = part[len("udp:"):]
    return udp, tcp


# --- CloudWatch Logs ----------------------------------------------------------------------

# PutRetentionPolicy's accepted values (API reference).
RETENTION_DAYS = aws_limits()["logRetentionDays"]


def check_retention(days):
    if days not in RETENTION_DAYS:
        return [f"retentionInDays {days} is not one of {RETENTION_DAYS}"]
    return []
