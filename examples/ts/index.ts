import * as pulumi from "@pulumi/pulumi";
import * as meshtrace from "@pulumi/meshtrace";

// The cluster and its namespace exist already (the platform's stack).
const config = new pulumi.Config();
const placement = {
    clusterArn: config.require("clusterArn"),
    vpcId: config.require("vpcId"),
    subnetIds: config.requireObject<string[]>("privateSubnetIds"),
};
const mesh = new meshtrace.Mesh("shop", { namespaceArn: config.require("namespaceArn") });
const tracing = new meshtrace.Tracing("shop", { mode: "adot" });
// Each service gets the mesh's and the tracing's outputs.
const joins = {
    mesh: { mode: mesh.mode, namespaceArn: mesh.namespaceArn },
    tracing: { name: tracing.name, mode: tracing.mode, samplingFixedRate: tracing.samplingFixedRate, samplingReservoir: tracing.samplingReservoir },
};

const payments = new meshtrace.Service("payments", {
    ...placement, ...joins,
    image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments:1.0.0",
});
const inventory = new meshtrace.Service("inventory", {
    ...placement, ...joins,
    image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/inventory:1.0.0",
    environment: { PAYMENT_ENDPOINT: payments.endpoint },
    // payments admits inventory on its port and the mesh routes to it.
    backends: [{ name: "payments", port: payments.port, endpoint: payments.endpoint, securityGroupId: payments.securityGroupId }],
});

export const endpoint = inventory.endpoint;
export const securityGroupId = inventory.securityGroupId;
