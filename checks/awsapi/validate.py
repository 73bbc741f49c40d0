#!/usr/bin/env python3
"""Prove exported resource graphs against AWS's API models and an AWS API emulator.

    go run ./cmd/graphexport -out build/graph
    python3 checks/awsapi/validate.py build/graph/*.json

For each graph (one stack and mode combination, see cmd/graphexport):
  1. translates every resource's Pulumi inputs into the AWS API request the provider would
     send (translate.py) and validates it against botocore's model of that operation,
     enums and maximums included (models.py);
  2. checks what the models cannot express: IAM policy and trust documents, ECS task
     definition rules, what the execution and task roles must allow, the ADOT collector
     config, log retention (rules.py, crosscheck.py);
  3. replays the requests through boto3 against moto (its ThreadedMotoServer) on a free loopback port, in
     creation order, and resolves the task definitions' secrets and Envoy's virtual node
     against what was created (replay.py).

Prints a summary per file; exits 1 on any finding, 2 if it cannot run.
"""

import collections
import importlib.util
import os
import sys

INSTALL = "scripts/install.sh installs them (pip install 'moto[server]' boto3 pyyaml)"
VERIFIED_WITH = "boto3/botocore 1.43.11, moto 5.2.1, PyYAML 6.0.3"


def missing_tools():
    missing = [m for m in ("boto3", "botocore", "moto", "yaml", "flask") if importlib.util.find_spec(m) is None]
    if "flask" in missing:
        missing[missing.index("flask")] = "moto's server (flask)"
    return missing


def counts(counter):
    return ", ".join(f"{k} x{n}" for k, n in sorted(counter.items())) or "none"


def model_findings(calls):
    import models
    from crosscheck import Finding

    findings = []
    for call in calls:
        findings += [Finding("translate", call.resource.label(), p) for p in call.problems]
        for message in models.validate(call.service, call.operation, call.params):
            findings.append(Finding("model", call.resource.label(), f"{call.label()}: {message}"))
    return findings


def rule_counts(graph, calls):
    import crosscheck
    import rules

    docs = crosscheck.policy_documents(graph)
    kinds = collections.Counter(kind for _, kind, _ in docs)
    tasks = crosscheck.calls_of(calls, "RegisterTaskDefinition")
    containers = sum(len(crosscheck.task_containers(t)) for t in tasks)
    collectors = sum(
        1 for t in tasks for c in crosscheck.task_containers(t) if "AOT_CONFIG_CONTENT" in rules.environment(c)
    )
    return (
        f"{len(docs)} policy documents ({kinds['trust']} trust, {kinds['identity']} identity), "
        f"{len(tasks)} task definitions ({containers} containers), {collectors} collector configs"
    )


def check_file(path, moto):
    import crosscheck
    import graph as graphs
    import replay as replays
    import translate

    name = os.path.basename(path)
    graph = graphs.load(path)
    modes = ", ".join(f"{k} {graph.mode(k)}" for k in ("meshMode", "tracingMode") if graph.mode(k))
    print(f"== {name}: stack {graph.stack}, {modes}")
    calls, uncovered = translate.translate(graph)
    findings = model_findings(calls)
    print(f"   model: {len(calls)} requests checked against botocore's models: {counts(collections.Counter(c.label() for c in calls))}")
    findings += crosscheck.check_graph(graph, calls)
    print(f"   rules: {rule_counts(graph, calls)}")
    moto.reset()
    replay = replays.Replay(moto, graph).run(calls)
    findings += replay.findings
    print(f"   replay: {sum(replay.accepted.values())} calls accepted by moto: {counts(replay.accepted)}")
    print(f"   references resolved to what moto created: {counts(replay.resolved)}")
    for reason, n in sorted(replay.skipped.items()):
        print(f"   not replayed (model check only) x{n}: {reason}")
    for token in uncovered:
        # Every resource the program declares is checked: a new type needs its translation.
        findings.append(crosscheck.Finding("coverage", token, "no translation to an AWS request in checks/awsapi/translate.py"))
    for f in findings:
        print(f"   FAIL {name} [{f.check}] {f.subject}: {f.message}")
    print(f"   => {'FAIL, ' + str(len(findings)) + ' findings' if findings else 'OK'}")
    return len(findings)


def main(argv):
    paths = argv[1:]
    if not paths or any(p.startswith("-") for p in paths):
        print(__doc__, file=sys.stderr)
        return 2
    missing = missing_tools()
    if missing:
        print(f"awsapi: missing {', '.join(missing)}; {INSTALL}", file=sys.stderr)
        return 2
    import botocore
    import moto

    import replay

    with replay.MotoServer() as server:
        print(f"awsapi: botocore {botocore.__version__}, moto {moto.__version__} (verified with {VERIFIED_WITH}); moto server at {server.url}")
        stale = replay.stale_skips()
        for message in stale:
            print(f"   FAIL [setup] {message}")
        total = len(stale)
        for path in paths:
            total += check_file(path, server)
    print(f"== total: {len(paths)} files, {total} findings")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
