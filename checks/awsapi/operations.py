"""Translations of the operations resources (autoscaling, alarms, SNS, the dashboard) into the
AWS requests the provider sends, and the dashboard body checked against CloudWatch's dashboard
body structure (the API takes it as an opaque string, so the model cannot)."""

import json

from translate import make, physical_name, pick, tag_list


def create_topic(r, graph):
    params = {"Name": physical_name(r)}
    if "tags" in r.inputs:
        params["Tags"] = tag_list(r.inputs["tags"], "Key", "Value")
    return [make("sns", "CreateTopic", params, r, {"name", "tags"})]


def subscribe(r, graph):
    params = pick(r.inputs, {"topic": "TopicArn", "protocol": "Protocol", "endpoint": "Endpoint"})
    return [make("sns", "Subscribe", params, r, {"topic", "protocol", "endpoint"})]


def dimension_list(dims):
    return [{"Name": k, "Value": v} for k, v in sorted((dims or {}).items())]


ALARM_FIELDS = {
    "alarmDescription": "AlarmDescription",
    "comparisonOperator": "ComparisonOperator",
    "threshold": "Threshold",
    "evaluationPeriods": "EvaluationPeriods",
    "datapointsToAlarm": "DatapointsToAlarm",
    "treatMissingData": "TreatMissingData",
    "alarmActions": "AlarmActions",
    "okActions": "OKActions",
    "insufficientDataActions": "InsufficientDataActions",
    "actionsEnabled": "ActionsEnabled",
    "namespace": "Namespace",
    "metricName": "MetricName",
    "period": "Period",
    "statistic": "Statistic",
    "extendedStatistic": "ExtendedStatistic",
    "unit": "Unit",
    "thresholdMetricId": "ThresholdMetricId",
    "evaluateLowSampleCountPercentiles": "EvaluateLowSampleCountPercentile",
}


def metric_query(q):
    out = pick(q, {"id": "Id", "expression": "Expression", "label": "Label", "returnData": "ReturnData", "period": "Period", "accountId": "AccountId"})
    if "metric" in q:
        m = q["metric"]
        metric = pick(m, {"namespace": "Namespace", "metricName": "MetricName"})
        metric["Dimensions"] = dimension_list(m.get("dimensions"))
        out["MetricStat"] = {"Metric": metric, **pick(m, {"period": "Period", "stat": "Stat", "unit": "Unit"})}
    return out


def put_metric_alarm(r, graph):
    i = r.inputs
    params = pick(i, ALARM_FIELDS)
    params["AlarmName"] = physical_name(r)
    if "dimensions" in i:
        params["Dimensions"] = dimension_list(i["dimensions"])
    if "metricQueries" in i:
        params["Metrics"] = [metric_query(q) for q in i["metricQueries"]]
    if "tags" in i:
        params["Tags"] = tag_list(i["tags"], "Key", "Value")
    handled = set(ALARM_FIELDS) | {"name", "dimensions", "metricQueries", "tags"}
    return [make("cloudwatch", "PutMetricAlarm", params, r, handled)]


def put_dashboard(r, graph):
    params = pick(r.inputs, {"dashboardName": "DashboardName", "dashboardBody": "DashboardBody"})
    call = make("cloudwatch", "PutDashboard", params, r, {"dashboardName", "dashboardBody"})
    call.problems += dashboard_body_problems(r.inputs.get("dashboardBody"))
    return [call]


# CloudWatch dashboard body structure (API reference, "Dashboard Body Structure and Syntax").
WIDGET_TYPES = {"metric", "text", "log", "alarm", "explorer"}
BODY_KEYS = {"widgets", "start", "end", "periodOverride"}
WIDGET_KEYS = {"type", "x", "y", "width", "height", "properties"}


def dashboard_body_problems(raw):
    try:
        body = json.loads(raw)
    except (TypeError, json.JSONDecodeError) as e:
        return [f"dashboardBody is not JSON: {e}"]
    if not isinstance(body, dict) or not isinstance(body.get("widgets"), list) or not body["widgets"]:
        return ["dashboardBody needs a non-empty widgets array"]
    problems = [f"dashboardBody: unknown top-level key {k!r}" for k in sorted(set(body) - BODY_KEYS)]
    for n, w in enumerate(body["widgets"]):
        where = f"dashboardBody widgets[{n}]"
        if not isinstance(w, dict):
            problems.append(f"{where} is not an object")
            continue
        problems += [f"{where}: unknown key {k!r}" for k in sorted(set(w) - WIDGET_KEYS)]
        if w.get("type") not in WIDGET_TYPES:
            problems.append(f"{where}: type {w.get('type')!r} is none of {sorted(WIDGET_TYPES)}")
        for key, lo, hi in (("x", 0, 23), ("y", 0, 10**6), ("width", 1, 24), ("height", 1, 1000)):
            v = w.get(key)
            if v is not None and (not isinstance(v, int) or not lo <= v <= hi):
                problems.append(f"{where}: {key} {v!r} outside {lo}..{hi}")
        if isinstance(w.get("x"), int) and isinstance(w.get("width"), int) and w["x"] + w["width"] > 24:
            problems.append(f"{where}: x + width > 24 columns")
        props = w.get("properties")
        if not isinstance(props, dict):
            problems.append(f"{where}: properties must be an object")
            continue
        if w.get("type") == "text" and not isinstance(props.get("markdown"), str):
            problems.append(f"{where}: a text widget needs markdown")
        if w.get("type") == "metric":
            problems += metric_widget_problems(where, props)
    return problems


def metric_widget_problems(where, props):
    problems = []
    if not isinstance(props.get("region"), str):
        problems.append(f"{where}: a metric widget needs region")
    if props.get("view", "timeSeries") not in {"timeSeries", "singleValue", "gauge", "bar", "pie", "table"}:
        problems.append(f"{where}: view {props.get('view')!r}")
    metrics = props.get("metrics")
    if not isinstance(metrics, list) or not metrics:
        return problems + [f"{where}: a metric widget needs metrics"]
    for m, ref in enumerate(metrics):
        if not isinstance(ref, list) or not ref:
            problems.append(f"{where}.metrics[{m}] is not an array")
            continue
        names = ref[:-1] if isinstance(ref[-1], dict) else ref
        if isinstance(ref[-1], dict) and "expression" in ref[-1] and not names:
            continue  # a metric math expression
        if len(names) < 2 or len(names) % 2 or not all(isinstance(s, str) and s for s in names):
            problems.append(f"{where}.metrics[{m}]: want [namespace, metricName, dimensionName, value, ...], got {ref!r}")
    return problems


AUTOSCALING_TARGET = {
    "serviceNamespace": "ServiceNamespace",
    "resourceId": "ResourceId",
    "scalableDimension": "ScalableDimension",
    "minCapacity": "MinCapacity",
    "maxCapacity": "MaxCapacity",
    "roleArn": "RoleARN",
    "suspendedState": "SuspendedState",
}


def register_scalable_target(r, graph):
    params = pick(r.inputs, AUTOSCALING_TARGET)
    if "tags" in r.inputs:
        params["Tags"] = dict(sorted(r.inputs["tags"].items()))  # a map in this API
    return [make("application-autoscaling", "RegisterScalableTarget", params, r, set(AUTOSCALING_TARGET) | {"tags"})]


def put_scaling_policy(r, graph):
    i = r.inputs
    params = pick(i, {"serviceNamespace": "ServiceNamespace", "resourceId": "ResourceId", "scalableDimension": "ScalableDimension", "policyType": "PolicyType"})
    params["PolicyName"] = physical_name(r)
    tt = i.get("targetTrackingScalingPolicyConfiguration")
    if tt is not None:
        cfg = pick(tt, {"targetValue": "TargetValue", "scaleInCooldown": "ScaleInCooldown", "scaleOutCooldown": "ScaleOutCooldown", "disableScaleIn": "DisableScaleIn"})
        if "predefinedMetricSpecification" in tt:
            cfg["PredefinedMetricSpecification"] = pick(
                tt["predefinedMetricSpecification"], {"predefinedMetricType": "PredefinedMetricType", "resourceLabel": "ResourceLabel"}
            )
        params["TargetTrackingScalingPolicyConfiguration"] = cfg
    handled = {"name", "serviceNamespace", "resourceId", "scalableDimension", "policyType", "targetTrackingScalingPolicyConfiguration"}
    return [make("application-autoscaling", "PutScalingPolicy", params, r, handled)]
