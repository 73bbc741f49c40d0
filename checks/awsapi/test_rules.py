"""Unit tests of the model walker, the rules and the replay's reference resolution."""

import json
import unittest

import models
import replay
import rules


def policy(*statements, version="2012-10-17"):
    return json.dumps({"Version": version, "Statement": list(statements)})


class ModelsTest(unittest.TestCase):
    def test_enum_max_and_pattern_are_checked(self):
        errors = models.validate(
            "ecs",
            "RegisterTaskDefinition",
            {"family": "f", "networkMode": "awsvpcx", "containerDefinitions": [{"name": "a", "dependsOn": [{"containerName": "b", "condition": "HEALTHYY"}]}]},
        )
        self.assertIn("Invalid value for parameter networkMode, value: awsvpcx, valid values: bridge, host, awsvpc, none", errors)
        self.assertIn(
            "Invalid value for parameter containerDefinitions[0].dependsOn[0].condition, value: HEALTHYY, valid values: START, COMPLETE, SUCCESS, HEALTHY",
            errors,
        )
        self.assertEqual(
            models.validate("iam", "CreateRole", {"RoleName": "r" * 65, "AssumeRolePolicyDocument": "{}"}),
            ["Invalid length for parameter RoleName, value: 65, valid max length: 64"],
        )
        self.assertEqual(
            models.validate("logs", "CreateLogGroup", {"logGroupName": "a b"}),
            ["Invalid value for parameter logGroupName, value: 'a b', does not match pattern [\\.\\-_/#A-Za-z0-9]+"],
        )

    def test_botocore_reports_unknown_members_and_types(self):
        errors = models.validate("ecs", "RegisterTaskDefinition", {"family": "f", "cpu": 256, "containerDefinitions": [{"memoryReservaton": 1}]})
        self.assertTrue(any('Unknown parameter in containerDefinitions[0]: "memoryReservaton"' in e for e in errors), errors)
        self.assertTrue(any("Invalid type for parameter cpu, value: 256" in e for e in errors), errors)


class PolicyTest(unittest.TestCase):
    def test_a_good_identity_policy(self):
        doc = policy({"Sid": "Logs", "Effect": "Allow", "Action": ["logs:PutLogEvents"], "Resource": ["arn:aws:logs:*:*:log-group:a:*"]})
        self.assertEqual(rules.check_policy(doc, "identity"), [])

    def test_structure_errors(self):
        doc = policy({"Action": "s3:GetObject", "Resource": "*", "Principal": "*"}, {"Effect": "allow", "Action": "*"}, version="2008-10-17")
        self.assertEqual(
            rules.check_policy(doc, "identity"),
            [
                'Version is \'2008-10-17\', must be "2012-10-17"',
                "statement 0: Effect is missing (must be Allow or Deny)",
                "statement 0: an identity policy statement must not have a Principal",
                "statement 1: Effect is 'allow', must be Allow or Deny",
                "statement 1: action '*' is a wildcard; name the actions (or allow-list it in rules.py with a reason)",
                "statement 1: Resource is missing (an identity policy statement needs Resource or NotResource)",
            ],
        )

    def test_any_resource_only_for_allow_listed_actions(self):
        doc = policy({"Effect": "Allow", "Action": ["xray:PutTraceSegments", "s3:GetObject"], "Resource": "*"})
        self.assertEqual(
            rules.check_policy(doc, "identity"),
            ['statement 0: action \'s3:GetObject\' is granted on Resource "*"; name the resources (or allow-list it in rules.py with a reason)'],
        )

    def test_trust_policy(self):
        good = policy({"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"})
        self.assertEqual(rules.check_policy(good, "trust"), [])
        bad = policy({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})
        self.assertEqual(
            rules.check_policy(bad, "trust"),
            ["statement 0: a trust policy statement needs a Principal", "statement 0: a trust policy statement must not have a Resource (IAM: Has prohibited field Resource)"],
        )

    def test_not_json(self):
        self.assertEqual(rules.check_policy("{", "identity")[0][:32], "the policy is not valid JSON: Ex")

    def test_allows(self):
        doc = policy({"Effect": "Allow", "Action": ["logs:CreateLogStream"], "Resource": ["arn:aws:logs:r:a:log-group:/x:*"]})
        self.assertTrue(rules.allows([doc], "logs:CreateLogStream", "arn:aws:logs:r:a:log-group:/x:log-stream:s"))
        self.assertFalse(rules.allows([doc], "logs:CreateLogStream", "arn:aws:logs:r:a:log-group:/y:log-stream:s"))
        self.assertFalse(rules.allows([doc], "logs:PutLogEvents", "arn:aws:logs:r:a:log-group:/x:log-stream:s"))


def task(cpu="256", memory="512", **container):
    c = {"name": "app", "image": "i", "essential": True}
    c.update(container)
    return {"family": "f", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": cpu, "memory": memory, "containerDefinitions": [c]}


class TaskDefinitionTest(unittest.TestCase):
    def test_a_good_task(self):
        self.assertEqual(rules.check_task_definition(task(memoryReservation=256)), [])

    def test_fargate_sizes(self):
        self.assertEqual(
            rules.check_task_definition(task(memory="4096")),
            ["memory 4096 does not go with cpu 256 on Fargate (allowed: 512..2048: [512, 1024, 2048])"],
        )
        self.assertEqual(rules.check_task_definition(task(memoryReservation=1024)), ["the containers reserve 1024 MiB, more than the task's 512"])

    def test_depends_on_and_health_checks(self):
        td = task(dependsOn=[{"containerName": "sidecar", "condition": "HEALTHY"}])
        td["containerDefinitions"].append({"name": "sidecar", "image": "i", "healthCheck": {"command": ["/healthcheck"], "interval": 4}})
        self.assertEqual(
            rules.check_task_definition(td),
            [
                "container sidecar: healthCheck.command ['/healthcheck'] must start with CMD or CMD-SHELL (ECS API reference, HealthCheck.command)",
                "container sidecar: healthCheck.interval 4 is outside 5..300",
            ],
        )
        td["containerDefinitions"][1].pop("healthCheck")
        self.assertEqual(
            rules.check_task_definition(td),
            ["container app: dependsOn 'sidecar' HEALTHY, but 'sidecar' has no healthCheck (ECS: the condition requires one)"],
        )
        td["containerDefinitions"][0]["dependsOn"][0]["condition"] = "SUCCESS"
        self.assertEqual(
            rules.check_task_definition(td),
            ["container app: dependsOn 'sidecar' SUCCESS, but 'sidecar' is essential (ECS: the condition cannot be set on an essential container)"],
        )
        td["containerDefinitions"][1]["essential"] = False
        self.assertEqual(rules.check_task_definition(td), [])
        td["containerDefinitions"][0]["dependsOn"][0]["containerName"] = "nobody"
        self.assertEqual(rules.check_task_definition(td), ["container app: dependsOn names 'nobody', which is not another container of the task"])


COLLECTOR = """
extensions: {health_check: {}}
receivers:
  awsxray: {endpoint: 127.0.0.1:2000}
  otlp: {protocols: {grpc: {}}}
processors: {batch: {}}
exporters: {awsxray: {}}
service:
  extensions: [health_check]
  pipelines:
    traces: {receivers: [awsxray, otlp], processors: [batch], exporters: [awsxray]}
"""


class CollectorTest(unittest.TestCase):
    def test_a_good_config(self):
        self.assertEqual(rules.check_collector_config(COLLECTOR), [])
        self.assertEqual(rules.awsxray_endpoint(COLLECTOR), "127.0.0.1:2000")

    def test_missing_and_undefined_components(self):
        broken = COLLECTOR.replace("otlp: {protocols: {grpc: {}}}", "").replace("[batch]", "[batch/traces]")
        self.assertEqual(
            rules.check_collector_config(broken),
            [
                "receivers ['otlp'] are not defined",
                "pipeline traces uses receiver 'otlp', which is not defined",
                "pipeline traces uses processor 'batch/traces', which is not defined",
            ],
        )

    def test_not_yaml(self):
        self.assertTrue(rules.check_collector_config("a: [")[0].startswith("AOT_CONFIG_CONTENT is not valid YAML"))

    def test_proxy_endpoint_and_daemon_addresses(self):
        self.assertIsNone(rules.awsxray_proxy_endpoint(COLLECTOR))
        with_proxy = COLLECTOR.replace("awsxray: {endpoint: 127.0.0.1:2000}", "awsxray: {endpoint: 127.0.0.1:2000, proxy_server: {endpoint: 127.0.0.1:2001}}")
        self.assertEqual(rules.awsxray_proxy_endpoint(with_proxy), "127.0.0.1:2001")
        self.assertEqual(rules.daemon_addresses("127.0.0.1:2000"), ("127.0.0.1:2000", "127.0.0.1:2000"))
        self.assertEqual(rules.daemon_addresses("tcp:127.0.0.1:2001 udp:127.0.0.1:2000"), ("127.0.0.1:2000", "127.0.0.1:2001"))
        self.assertEqual(rules.daemon_addresses("udp:10.0.0.1:2000"), ("10.0.0.1:2000", None))


class ReplayReferencesTest(unittest.TestCase):
    def test_resolve_path(self):
        params = {"a": {"groups": ["x-id", "y-id"]}, "b": 1}
        seen = []
        out = replay.resolve_path(params, ["a", "groups[]"], {"x-id": "sg-1"}, seen)
        self.assertEqual(out, {"a": {"groups": ["sg-1", "y-id"]}, "b": 1})
        self.assertEqual(seen, [("x-id", True), ("y-id", False)])
        self.assertEqual(params["a"]["groups"], ["x-id", "y-id"])  # the translated request is untouched

    def test_the_calls_skipped_are_the_ones_moto_lacks(self):
        self.assertEqual(replay.stale_skips(), [])
        self.assertTrue(replay.implemented_by_moto("appmesh", "CreateVirtualNode"))
        self.assertFalse(replay.implemented_by_moto("appmesh", "CreateVirtualService"))

    def test_retention_days(self):
        self.assertEqual(rules.check_retention(7), [])
        self.assertEqual(rules.check_retention(8)[0][:40], "retentionInDays 8 is not one of [1, 3, 5")


if __name__ == "__main__":
    unittest.main()
