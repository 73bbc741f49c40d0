package main

import (
	"context"
	"fmt"
	"reflect"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/components/mesh"
	"github.com/meshtrace/meshtrace/components/naming"
	"github.com/meshtrace/meshtrace/components/xray"
)

func ctxToken(ctx *pulumi.Context) string { return p.GetTypeToken(ctx) }

// MeshArgs are the Mesh's inputs.
type MeshArgs struct {
	Mode          pulumi.StringInput    `pulumi:"mode,optional"`
	NamespaceArn  pulumi.StringInput    `pulumi:"namespaceArn"`
	NamespaceId   pulumi.StringInput    `pulumi:"namespaceId,optional"`
	NamespaceName pulumi.StringInput    `pulumi:"namespaceName,optional"`
	Tags          pulumi.StringMapInput `pulumi:"tags,optional"`
}

// Annotate describes the inputs.
func (a *MeshArgs) Annotate(an infer.Annotator) {
	an.Describe(&a.Mode, `"serviceconnect" (ECS Service Connect) or "appmesh" (AWS App Mesh, discontinued on 2026-09-30). Default serviceconnect.`)
	an.Describe(&a.NamespaceArn, "ARN of the cluster's Cloud Map namespace (a Cluster's namespaceArn).")
	an.Describe(&a.NamespaceId, "ID of the namespace (a Cluster's namespaceId). Required for appmesh.")
	an.Describe(&a.NamespaceName, "Name of the namespace, e.g. shop.local. Required for appmesh.")
	an.Describe(&a.Tags, "Tags added to every resource.")
}

// MeshRef is what a Service needs of its mesh: the Mesh's outputs of the same names.
type MeshRef struct {
	Mode         string `pulumi:"mode,optional"`
	NamespaceArn string `pulumi:"namespaceArn"`
}

// MeshRefArgs is a MeshRef of Inputs; MeshRefInput is either that or one output of a MeshRef.
type MeshRefArgs struct {
	Mode         pulumi.StringInput `pulumi:"mode,optional"`
	NamespaceArn pulumi.StringInput `pulumi:"namespaceArn"`
}

type MeshRefInput interface {
	pulumi.Input
	ToMeshRefOutput() MeshRefOutput
}

type MeshRefOutput struct{ *pulumi.OutputState }

func (MeshRefArgs) ElementType() reflect.Type          { return reflect.TypeFor[MeshRef]() }
func (MeshRefOutput) ElementType() reflect.Type        { return reflect.TypeFor[MeshRef]() }
func (o MeshRefOutput) ToMeshRefOutput() MeshRefOutput { return o }
func (a MeshRefArgs) ToMeshRefOutput() MeshRefOutput {
	return toOutput[MeshRefOutput](context.Background(), a)
}

func init() { registerRecord[MeshRefArgs, MeshRefOutput](reflect.TypeFor[MeshRefInput]()) }

// Mesh is the service mesh the services join.
type Mesh struct {
	pulumi.ResourceState
	Mode            pulumi.StringOutput `pulumi:"mode"`
	NamespaceArn    pulumi.StringOutput `pulumi:"namespaceArn"`
	ProxyIgnoredUid pulumi.StringOutput `pulumi:"proxyIgnoredUid"`
}

// Annotate describes the component and its outputs.
func (m *Mesh) Annotate(an infer.Annotator) {
	an.Describe(&m, "The service mesh that services join: ECS Service Connect, or AWS App Mesh with an Envoy sidecar per task. Pass its mode and namespaceArn to each Service's mesh.")
	an.Describe(&m.Mode, "The mesh's mode.")
	an.Describe(&m.NamespaceArn, "ARN of the namespace the members register in.")
	an.Describe(&m.ProxyIgnoredUid, `UID whose traffic the mesh's proxy lets through untouched ("" when the mesh intercepts nothing); services hand it to their sidecars themselves.`)
}

// NewMesh constructs the Mesh.
func NewMesh(ctx *pulumi.Context, name string, args MeshArgs, opts ...pulumi.ResourceOption) (*Mesh, error) {
	c := &Mesh{}
	parent, err := register(ctx, name, c, opts)
	if err != nil {
		return nil, err
	}
	p := newPlain(ctx)
	mode := value(p, "mode", args.Mode, mesh.ModeServiceConnect)
	namespaceName := value(p, "namespaceName", args.NamespaceName, "")
	tagMap := stringMap(p, "tags", args.Tags)
	deps, declare, err := p.done("Mesh "+name, c)
	if err != nil || !declare {
		return c, err
	}
	m, err := mesh.New(ctx, name, &mesh.Args{
		Mode: mode, NamespaceArn: args.NamespaceArn, NamespaceId: args.NamespaceId, NamespaceName: namespaceName, Tags: tagMap,
	}, parent, deps)
	if err != nil {
		return nil, err
	}
	c.Mode = pulumi.String(mode).ToStringOutput()
	c.NamespaceArn = args.NamespaceArn.ToStringOutput()
	c.ProxyIgnoredUid = pulumi.String(m.ProxyIgnoredUID()).ToStringOutput()
	return c, nil
}

// joinable builds, under the service, the mesh a Service joins from its MeshRef.
func joinable(ctx *pulumi.Context, p *plain, in MeshRefInput, service string) (func(...pulumi.ResourceOption) (mesh.Mesh, error), error) {
	r := recordArgs[MeshRefArgs](p, "mesh", in)
	mode := value(p, "mesh.mode", r.Mode, "")
	if mode == "" { // unset, or absent from a MeshRef passed as one output
		mode = mesh.ModeServiceConnect
	}
	if mode != mesh.ModeServiceConnect {
		why := mesh.Discontinued(mode)
		if why == "" {
			why = "unknown mode"
		}
		return nil, fmt.Errorf("service %s: mesh mode %q cannot be joined from the component package (%s); use %q", service, mode, why, mesh.ModeServiceConnect)
	}
	return func(opts ...pulumi.ResourceOption) (mesh.Mesh, error) {
		return mesh.New(ctx, service+"-mesh", &mesh.Args{Mode: mode, NamespaceArn: r.NamespaceArn}, opts...)
	}, nil
}

// TracingArgs are the Tracing's inputs.
type TracingArgs struct {
	Mode              pulumi.StringInput      `pulumi:"mode,optional"`
	SamplingFixedRate pulumi.Float64Input     `pulumi:"samplingFixedRate,optional"`
	SamplingReservoir pulumi.IntInput         `pulumi:"samplingReservoir,optional"`
	Services          pulumi.StringArrayInput `pulumi:"services,optional"`
}

// Annotate describes the inputs.
func (a *TracingArgs) Annotate(an infer.Annotator) {
	an.Describe(&a.Services, "The X-Ray names (discovery names) of the system's services: the Tracing declares the X-Ray group of their traces and its fault group. Default none: no group.")
	an.Describe(&a.Mode, `Tracing sidecar: "xray-daemon" (the X-Ray daemon, the apps use the X-Ray SDK) or "adot" (the ADOT collector, the apps use OpenTelemetry). Default adot: the X-Ray daemon and SDKs reach end of support on 2027-02-25.`)
	an.Describe(&a.SamplingFixedRate, fmt.Sprintf("Share of requests traced beyond the reservoir, 0 to 1. Default %v.", xray.DefaultSamplingFixedRate))
	an.Describe(&a.SamplingReservoir, fmt.Sprintf("Requests per second always traced, per service. Default %v.", xray.DefaultSamplingReservoir))
}

// TracingRef is what a Service needs of its tracing: the Tracing's outputs of the same names.
type TracingRef struct {
	Name              string  `pulumi:"name"`
	Mode              string  `pulumi:"mode"`
	SamplingFixedRate float64 `pulumi:"samplingFixedRate"`
	SamplingReservoir int     `pulumi:"samplingReservoir"`
}

// Annotate describes the fields.
func (r *TracingRef) Annotate(an infer.Annotator) {
	an.Describe(&r.Name, "The tracing's name (a Tracing's name output): the service's sampling rule is <name>-<service>, at most 32 characters.")
	an.Describe(&r.Mode, "The tracing's mode (a Tracing's mode output).")
	an.Describe(&r.SamplingFixedRate, "Share of requests traced beyond the reservoir (a Tracing's samplingFixedRate output).")
	an.Describe(&r.SamplingReservoir, "Requests per second always traced (a Tracing's samplingReservoir output).")
}

// TracingRefArgs is a TracingRef of Inputs; TracingRefInput is either that or one output
// of a TracingRef.
type TracingRefArgs struct {
	Name              pulumi.StringInput  `pulumi:"name"`
	Mode              pulumi.StringInput  `pulumi:"mode"`
	SamplingFixedRate pulumi.Float64Input `pulumi:"samplingFixedRate"`
	SamplingReservoir pulumi.IntInput     `pulumi:"samplingReservoir"`
}

type TracingRefInput interface {
	pulumi.Input
	ToTracingRefOutput() TracingRefOutput
}

type TracingRefOutput struct{ *pulumi.OutputState }

func (TracingRefArgs) ElementType() reflect.Type                { return reflect.TypeFor[TracingRef]() }
func (TracingRefOutput) ElementType() reflect.Type              { return reflect.TypeFor[TracingRef]() }
func (o TracingRefOutput) ToTracingRefOutput() TracingRefOutput { return o }
func (a TracingRefArgs) ToTracingRefOutput() TracingRefOutput {
	return toOutput[TracingRefOutput](context.Background(), a)
}

func init() { registerRecord[TracingRefArgs, TracingRefOutput](reflect.TypeFor[TracingRefInput]()) }

// tracingRef reads the record's values, however it came.
func tracingRef(p *plain, in TracingRefInput) TracingRef {
	a := recordArgs[TracingRefArgs](p, "tracing", in)
	return TracingRef{
		Name:              value(p, "tracing.name", a.Name, ""),
		Mode:              value(p, "tracing.mode", a.Mode, ""),
		SamplingFixedRate: value(p, "tracing.samplingFixedRate", a.SamplingFixedRate, 0.0),
		SamplingReservoir: value(p, "tracing.samplingReservoir", a.SamplingReservoir, 0),
	}
}

// Tracing is a system's tracing settings, checked once; each Service given them declares its
// own sampling rule and runs the sidecar.
type Tracing struct {
	pulumi.ResourceState
	Name              pulumi.StringOutput  `pulumi:"name"`
	Mode              pulumi.StringOutput  `pulumi:"mode"`
	SamplingFixedRate pulumi.Float64Output `pulumi:"samplingFixedRate"`
	SamplingReservoir pulumi.IntOutput     `pulumi:"samplingReservoir"`
	GroupName         pulumi.StringOutput  `pulumi:"groupName"`
	FaultGroupName    pulumi.StringOutput  `pulumi:"faultGroupName"`
}

// Annotate describes the component and its outputs.
func (t *Tracing) Annotate(an infer.Annotator) {
	an.Describe(&t, "A system's X-Ray tracing: pass its outputs as a Service's tracing, and the service declares its sampling rule (<name>-<service>), runs the tracing sidecar as the mesh's ignored UID and hands Envoy its X-Ray settings.")
	an.Describe(&t.Name, "Prefix of the X-Ray group and of the services' sampling rules: <project>-<stack>-<component name>.")
	an.Describe(&t.Mode, "The tracing sidecar's mode.")
	an.Describe(&t.SamplingFixedRate, "Share of requests traced beyond the reservoir.")
	an.Describe(&t.SamplingReservoir, "Requests per second always traced, per service.")
	an.Describe(&t.GroupName, "The X-Ray group of the services' traces (empty without services).")
	an.Describe(&t.FaultGroupName, "The X-Ray group of those traces with a fault (empty without services).")
}

// NewTracing constructs the Tracing.
func NewTracing(ctx *pulumi.Context, name string, args TracingArgs, opts ...pulumi.ResourceOption) (*Tracing, error) {
	c := &Tracing{}
	parent, err := register(ctx, name, c, opts)
	if err != nil {
		return nil, err
	}
	p := newPlain(ctx)
	ref := TracingRef{
		Name: naming.InStack(ctx, name), // account-unique X-Ray names

		Mode:              value(p, "mode", args.Mode, xray.ModeADOT),
		SamplingFixedRate: value(p, "samplingFixedRate", args.SamplingFixedRate, xray.DefaultSamplingFixedRate),
		SamplingReservoir: value(p, "samplingReservoir", args.SamplingReservoir, xray.DefaultSamplingReservoir),
	}
	services := value[[]string](p, "services", args.Services, nil)
	deps, declare, err := p.done("Tracing "+name, c)
	if err != nil || !declare {
		return c, err
	}
	// The Go component checks the settings and declares the groups; its rules come with
	// each service.
	system, err := ref.part(ctx, name, services, parent, deps)
	if err != nil {
		return nil, err
	}
	c.GroupName, c.FaultGroupName = system.GroupName, system.FaultGroupName
	c.Name = pulumi.String(ref.Name).ToStringOutput()
	c.Mode = pulumi.String(ref.Mode).ToStringOutput()
	c.SamplingFixedRate = pulumi.Float64(ref.SamplingFixedRate).ToFloat64Output()
	c.SamplingReservoir = pulumi.Int(ref.SamplingReservoir).ToIntOutput()
	return c, nil
}

// part declares the Go tracing component named name, with the X-Ray groups of services.
func (r TracingRef) part(ctx *pulumi.Context, name string, services []string, opts ...pulumi.ResourceOption) (*xray.Tracing, error) {
	rate, reservoir := r.SamplingFixedRate, r.SamplingReservoir
	return xray.NewTracing(ctx, name, &xray.TracingArgs{Name: r.Name, Mode: r.Mode, SamplingFixedRate: &rate, SamplingReservoir: &reservoir, Services: services}, opts...)
}
