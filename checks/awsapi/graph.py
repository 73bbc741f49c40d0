"""Reading an exported resource graph (cmd/graphexport, stacks.ExportGraphs).

A graph is {"stack", "config", "resources": [{"type", "name", "urn", "parent", "custom",
"inputs", "dependencies"}]}; inputs use Pulumi property names and secrets read "[secret]".
"""

import json
import os
from dataclasses import dataclass, field


def _mock_account():
    """What pulumitest/mocks.go puts into ids and ARNs: its mockaccount.json."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "pulumitest", "mockaccount.json")
    with open(path) as f:
        m = json.load(f)
    return m["account"], m["region"]


MOCK_ACCOUNT, MOCK_REGION = _mock_account()


def mock_arn(service, resource_part):
    """An ARN as the mocks make it: arn:aws:<service>:us-east-1:123456789012:<resource_part>."""
    return f"arn:aws:{service}:{MOCK_REGION}:{MOCK_ACCOUNT}:{resource_part}"


@dataclass
class Resource:
    type: str
    name: str
    urn: str
    inputs: dict
    custom: bool  # false for components (awsx:ec2:Vpc, meshtrace:*), which make no API call
    dependencies: list = field(default_factory=list)

    @property
    def mock_id(self):
        """The id the mocks return for every resource: <name>-id."""
        return self.name + "-id"

    def label(self):
        return f"{self.type} {self.name}"


@dataclass
class Graph:
    path: str
    stack: str
    config: dict
    resources: list

    def of_type(self, token):
        return [r for r in self.resources if r.type == token]

    def mode(self, key):
        return self.config.get("meshtrace:" + key, "")


def load(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    resources = [
        Resource(
            type=r["type"],
            name=r["name"],
            urn=r["urn"],
            inputs=r.get("inputs") or {},
            custom=bool(r.get("custom")),
            dependencies=r.get("dependencies") or [],
        )
        for r in doc["resources"]
    ]
    return Graph(path=path, stack=doc["stack"], config=doc.get("config") or {}, resources=resources)
