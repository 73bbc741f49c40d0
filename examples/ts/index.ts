import * as pulumi from "@pulumi/pulumi";
import * as meshtrace from "@pulumi/meshtrace";

// The cluster, its namespace and the payments service exist already (the platform's stack).
const config = new pulumi.Config();
const tracing = new meshtrace.Tracing("inventory", { mode: "adot" });
const inventory = new meshtrace.Service("inventory", {
    clusterArn: config.require("clusterArn"),
    vpcId: config.require("vpcId"),
    subnetIds: config.requireObject<string[]>("privateSubnetIds"),
    image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/inventory:1.0.0",
    mesh: { mode: "serviceconnect", namespaceArn: config.require("namespaceArn") },
    tracing: { name: tracing.name, mode: tracing.mode, samplingFixedRate: tracing.samplingFixedRate, samplingReservoir: tracing.samplingReservoir },
    environment: { PAYMENT_ENDPOINT: "http://payments:8080" },
    // payments admits inventory on 8080 and the mesh routes to it.
    backends: [{ name: "payments", port: 8080, endpoint: "http://payments:8080", securityGroupId: config.require("paymentsSecurityGroupId") }],
});

export const endpoint = inventory.endpoint;
export const securityGroupId = inventory.securityGroupId;
