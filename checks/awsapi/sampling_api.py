"""Checks calls of X-Ray's sampling API against botocore's model of X-Ray.

The OpenTelemetry path of the services polls X-Ray's sampling rules and targets through the
collector's X-Ray proxy (apps/internal/tracing/xraysampler.go); its tests run it against a
stand-in of the two operations and record every call. This script checks each recorded call
against data/xray/2016-04-12/service-2.json: the HTTP method and path name an operation
(GetSamplingRules is POST /GetSamplingRules, GetSamplingTargets POST /SamplingTargets), the
request body fits the operation's input shape (botocore's ParamValidator plus
models.constraint_errors: required and unknown members, types, lengths such as ClientID's 24,
list limits such as 25 statistics documents a call), and the stand-in's answer its output shape
(ParamValidator's members and types only: the maxima are what a caller may create, and X-Ray's
own Default rule answers with Priority 10000, beyond SamplingRule's 1-9999; AWS's example in
https://docs.aws.amazon.com/xray/latest/devguide/xray-api-sampling.html).

usage: python3 sampling_api.py calls.json
  calls.json: a JSON list of {"method", "path", "request", "response"}
exit status 1 and one line per finding when a call breaks the model.
"""

import json
import sys

import botocore.session
from botocore.validate import ParamValidator

import models

OPERATIONS = ("GetSamplingRules", "GetSamplingTargets")


def operation_for(model, method, path):
    for name in OPERATIONS:
        op = model.operation_model(name)
        if op.http["method"] == method and op.http["requestUri"] == path:
            return op
    return None


def validator_errors(value, shape):
    report = ParamValidator().validate(value, shape)
    return report.generate_report().splitlines() if report.has_errors() else []


def findings(calls):
    model = botocore.session.get_session().get_service_model("xray")
    out = []
    for i, call in enumerate(calls):
        where = f"call {i} ({call.get('method')} {call.get('path')})"
        op = operation_for(model, call.get("method"), call.get("path"))
        if op is None:
            out.append(f"{where}: no X-Ray sampling operation has this method and path")
            continue
        request, response = call.get("request"), call.get("response")
        if not isinstance(request, dict) or not isinstance(response, dict):
            out.append(f"{where}: request or response is not a JSON object")
            continue
        # models.validate: the request as the service checks it (ParamValidator and the maxima).
        out += [f"{where} {op.name} request: {e}" for e in models.validate("xray", op.name, request)]
        out += [f"{where} {op.name} response: {e}" for e in validator_errors(response, op.output_shape)]
    return out


def main(path):
    with open(path) as f:
        calls = json.load(f)
    problems = findings(calls)
    for p in problems:
        print(p)
    print(f"{len(calls)} calls checked against botocore's X-Ray model, {len(problems)} findings")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
