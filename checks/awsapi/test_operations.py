"""The dashboard body check and the alarm translation, with deliberate errors."""

import json
import unittest

import translate  # first: it registers operations' translators (operations imports its helpers)
import operations  # noqa: E402
from graph import Resource


def resource(type_, name, inputs):
    return Resource(type=type_, name=name, urn="urn:x", inputs=inputs, custom=True)


GOOD = {
    "widgets": [
        {"type": "text", "x": 0, "y": 0, "width": 24, "height": 2, "properties": {"markdown": "## x"}},
        {"type": "metric", "x": 0, "y": 2, "width": 8, "height": 6, "properties": {
            "region": "us-east-1", "view": "timeSeries",
            "metrics": [["AWS/ApplicationELB", "RequestCount", "LoadBalancer", "app/x/1"], ["AWS/ECS", "CPUUtilization", {"stat": "p99"}]]}},
    ]
}


class DashboardBody(unittest.TestCase):
    def test_good_body_passes(self):
        self.assertEqual(operations.dashboard_body_problems(json.dumps(GOOD)), [])

    def test_each_error_is_named(self):
        bad = json.loads(json.dumps(GOOD))
        bad["widgetz"] = []
        bad["widgets"][0]["width"] = 30
        bad["widgets"][1]["properties"]["metrics"].append(["AWS/ECS", "CPUUtilization", "ClusterName"])
        del bad["widgets"][1]["properties"]["region"]
        problems = "\n".join(operations.dashboard_body_problems(json.dumps(bad)))
        for want in ("unknown top-level key 'widgetz'", "widgets[0]: width 30 outside 1..24", "a metric widget needs region",
                     "metrics[2]: want [namespace, metricName, dimensionName, value, ...]"):
            self.assertIn(want, problems)
        self.assertIn("is not JSON", operations.dashboard_body_problems("{")[0])


class Alarm(unittest.TestCase):
    def test_metric_math_alarm_becomes_metrics_with_metric_stat(self):
        r = resource("aws:cloudwatch/metricAlarm:MetricAlarm", "a", {
            "name": "a", "comparisonOperator": "GreaterThanThreshold", "threshold": 2, "evaluationPeriods": 3,
            "metricQueries": [
                {"id": "e1", "expression": "100 * errors / requests", "returnData": True},
                {"id": "errors", "returnData": False, "metric": {"namespace": "AWS/ApplicationELB", "metricName": "HTTPCode_ELB_5XX_Count",
                                                                   "dimensions": {"LoadBalancer": "app/x/1"}, "period": 60, "stat": "Sum"}},
            ],
        })
        (call,) = operations.put_metric_alarm(r, None)
        self.assertEqual(call.problems, [])
        stat = call.params["Metrics"][1]["MetricStat"]
        self.assertEqual(stat["Metric"]["Dimensions"], [{"Name": "LoadBalancer", "Value": "app/x/1"}])
        self.assertEqual((stat["Period"], stat["Stat"]), (60, "Sum"))

    def test_unknown_input_is_a_finding(self):
        r = resource("aws:cloudwatch/metricAlarm:MetricAlarm", "a", {"name": "a", "alarmRule": "x"})
        (call,) = operations.put_metric_alarm(r, None)
        self.assertTrue(any("alarmRule" in p for p in call.problems))


if __name__ == "__main__":
    unittest.main()
