import * as pulumi from "@pulumi/pulumi";
import * as meshtrace from "@pulumi/meshtrace";

// inventory, behind its own load balancer, on the platform stack, calling payments: all it
// knows of the platform comes from the platform stack's references (docs/reuse.md).
const config = new pulumi.Config();
const platform = new pulumi.StackReference(config.require("platformStack")); // e.g. organization/meshtrace/dev
const ref = (name: string) => platform.requireOutput(name) as pulumi.Output<Record<string, any>>;
const [network, cluster, mesh, tracing] = ["network", "cluster", "mesh", "tracing"].map(ref);
const payments = ref("services").apply(services => services.payments as pulumi.Unwrap<meshtrace.types.input.BackendArgs>);

const inventory = new meshtrace.Service("inventory", {
    clusterArn: cluster.arn, vpcId: network.vpcId, subnetIds: network.privateSubnetIds,
    public: true, publicSubnetIds: network.publicSubnetIds, // its own internet-facing load balancer
    mesh: { mode: mesh.mode, namespaceArn: mesh.namespaceArn },
    tracing: { name: `${pulumi.getProject()}-${pulumi.getStack()}`, mode: tracing.mode, samplingFixedRate: tracing.samplingFixedRate, samplingReservoir: tracing.samplingReservoir },
    image: config.require("image"),
    environment: { PAYMENT_ENDPOINT: payments.endpoint },
    backends: [payments], // payments admits inventory, the mesh routes to it
});

export const url = inventory.url;
