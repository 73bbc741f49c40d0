package main

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"
)

// Every input of the package is a pulumi Input: a program in another language passes
// another resource's output (with its dependencies), an unknown (in a preview) or a secret
// wherever it could pass a literal. Where a Go component takes an Input, the value goes
// through as it came. Where it takes a plain value (a name, a mode, a port: what decides
// which resources are declared and how they are named), plain reads it once, at
// construction:
//   - its dependencies become dependencies of every resource the component declares
//     (dependOn), so nothing is created before what the value came from;
//   - a secret is refused: the value ends up in resource names and plain-text arguments,
//     where Pulumi cannot keep it secret;
//   - an unknown (a preview before what it comes from exists) cannot shape resources: the
//     component then declares nothing and its outputs are unknown (unknownOutputs); the
//     deployment that follows knows the value and declares everything.
type plain struct {
	ctx     *pulumi.Context
	deps    []pulumi.Resource
	unknown []string
	secret  []string
	errs    []string
}

func newPlain(ctx *pulumi.Context) *plain { return &plain{ctx: ctx} }

// await waits for in's value; ok is false when in is unset or unknown (then recorded).
func (p *plain) await(field string, in pulumi.Input) (res internals.UnsafeAwaitOutputResult, ok bool) {
	if in == nil || reflect.ValueOf(in).Kind() == reflect.Pointer && reflect.ValueOf(in).IsNil() {
		return res, false
	}
	res, err := internals.UnsafeAwaitOutput(p.ctx.Context(), pulumi.ToOutput(in))
	if err != nil {
		p.errs = append(p.errs, fmt.Sprintf("%s: %v", field, err))
		return res, false
	}
	if !res.Known {
		p.unknown = append(p.unknown, field)
		return res, false
	}
	return res, true
}

// value is in's value where a Go component needs a plain one; def when in is unset.
func value[T any](p *plain, field string, in pulumi.Input, def T) T {
	res, ok := p.await(field, in)
	if !ok {
		return def
	}
	if res.Secret {
		p.secret = append(p.secret, field)
	}
	p.deps = append(p.deps, res.Dependencies...)
	v, isT := res.Value.(T)
	if !isT {
		p.errs = append(p.errs, fmt.Sprintf("%s: %T is no %T", field, res.Value, def))
		return def
	}
	return v
}

// pointer is value for an optional setting whose absence the Go component tells apart.
func pointer[T any](p *plain, field string, in pulumi.Input) *T {
	var zero T
	if _, set := p.await(field, in); !set {
		return nil
	}
	v := value(p, field, in, zero)
	return &v
}

// stringMap is in as the map of Inputs the Go components take. A map passed as one output
// (e.g. tags from another stack) is read for its keys only: each value stays an output of
// it, with its dependencies and secretness.
func stringMap(p *plain, field string, in pulumi.StringMapInput) pulumi.StringMap {
	if in == nil {
		return nil
	}
	if m, isMap := in.(pulumi.StringMap); isMap {
		return m
	}
	res, ok := p.await(field, in)
	if !ok {
		return nil
	}
	out, m := in.ToStringMapOutput(), pulumi.StringMap{}
	for k := range res.Value.(map[string]string) {
		m[k] = out.MapIndex(pulumi.String(k))
	}
	return m
}

// stringList is in as the list of Inputs the Go components take, its elements outputs of
// in when it came as one output (read for its length only).
func stringList(p *plain, field string, in pulumi.StringArrayInput) []pulumi.StringInput {
	if in == nil {
		return nil
	}
	if a, isArray := in.(pulumi.StringArray); isArray {
		return a
	}
	res, ok := p.await(field, in)
	if !ok {
		return nil
	}
	out, list := in.ToStringArrayOutput(), []pulumi.StringInput{}
	for i := range res.Value.([]string) {
		list = append(list, out.Index(pulumi.Int(i)))
	}
	return list
}

// done reports what construction cannot accept, and returns the option that makes the
// Go component and all it declares depend on what the plain values came from. declare is
// false in a preview where a plain value is unknown: declare nothing then (c's outputs are
// then unknown).
func (p *plain) done(component string, c any) (opt pulumi.ResourceOption, declare bool, err error) {
	if len(p.errs) > 0 {
		return nil, false, fmt.Errorf("%s: %s", component, strings.Join(p.errs, "; "))
	}
	if len(p.secret) > 0 {
		return nil, false, fmt.Errorf("%s: %s must not be secret: the value names resources or is written in plain text into their arguments, where Pulumi cannot keep it secret", component, strings.Join(p.secret, ", "))
	}
	if len(p.unknown) > 0 {
		if !p.ctx.DryRun() {
			return nil, false, fmt.Errorf("%s: %s unknown outside a preview", component, strings.Join(p.unknown, ", "))
		}
		sort.Strings(p.unknown)
		_ = p.ctx.Log.Warn(fmt.Sprintf("%s: %s unknown in this preview: its resources show once %s known (at the update)",
			component, strings.Join(p.unknown, ", "), map[bool]string{true: "it is", false: "they are"}[len(p.unknown) == 1]), nil)
		unknownOutputs(c)
		return nil, false, nil
	}
	return pulumi.Transformations([]pulumi.ResourceTransformation{dependOn(p.deps)}), true, nil
}

// dependOn adds deps to the dependencies of each resource it transforms (the option is
// inherited by all children).
func dependOn(deps []pulumi.Resource) pulumi.ResourceTransformation {
	return func(a *pulumi.ResourceTransformationArgs) *pulumi.ResourceTransformationResult {
		if len(deps) == 0 {
			return nil
		}
		return &pulumi.ResourceTransformationResult{Props: a.Props, Opts: append(a.Opts, pulumi.DependsOn(deps))}
	}
}

// unknownOutputs sets every output of component c to an unknown of its type (a preview
// that could not declare c's resources).
func unknownOutputs(c any) {
	v := reflect.ValueOf(c).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		out, isOutput := f.Interface().(pulumi.Output)
		if !isOutput || !f.CanSet() {
			continue
		}
		elem := out.ElementType()
		zero := reflect.MakeFunc(reflect.FuncOf([]reflect.Type{reflect.TypeFor[any]()}, []reflect.Type{elem}, false),
			func([]reflect.Value) []reflect.Value { return []reflect.Value{reflect.Zero(elem)} })
		f.Set(reflect.ValueOf(pulumi.UnsafeUnknownOutput(nil).ApplyT(zero.Interface())))
	}
}

// The records a Service takes (MeshRef, TracingRef, Backend...) are Inputs as a whole too: a
// program may pass a record of outputs or one output for the record (another stack's
// output, an apply). Each record R has RArgs (its fields as Inputs), RInput (RArgs or an
// ROutput) and ROutput, registered with the SDK as its generated types are.
func registerRecord[A pulumi.Input, O pulumi.Output](input reflect.Type) {
	var a A
	pulumi.RegisterInputType(input, a)
	var o O
	pulumi.RegisterOutputType(o)
}

func toOutput[O pulumi.Output](ctx context.Context, in pulumi.Input) O {
	return pulumi.ToOutputWithContext(ctx, in).(O)
}

// recordArgs is a record's fields as Inputs (A, e.g. BackendArgs), however it came: A itself,
// or one output of the record, each field then an output of it (with the record's
// dependencies and secretness). A field the SDK has no output type for (a list of records)
// cannot be read from one output: refused, naming it.
func recordArgs[A any](p *plain, field string, in pulumi.Input) A {
	if a, isArgs := in.(A); isArgs {
		return a
	}
	var a A
	o := pulumi.ToOutput(in)
	av, rt := reflect.ValueOf(&a).Elem(), o.ElementType()
	for i := range av.NumField() {
		rf, found := rt.FieldByName(av.Type().Field(i).Name)
		if !found {
			continue
		}
		get := reflect.MakeFunc(reflect.FuncOf([]reflect.Type{rt}, []reflect.Type{rf.Type}, false),
			func(r []reflect.Value) []reflect.Value { return []reflect.Value{r[0].FieldByIndex(rf.Index)} })
		f := reflect.ValueOf(o.ApplyT(get.Interface()))
		if !f.Type().AssignableTo(av.Field(i).Type()) {
			p.errs = append(p.errs, fmt.Sprintf("%s: pass it as a record of its fields, not as one output (its %s cannot be read from one)", field, rf.Name))
			continue
		}
		av.Field(i).Set(f)
	}
	return a
}

// list is a list of records (E, e.g. BackendInput), however it came: the list, or one output
// of it (e.g. another stack's output), read for its length only, each element then an output
// of it. Each list type (e.g. BackendArray) is registered as the records are.
func list[E pulumi.Input](p *plain, field string, in pulumi.Input) []E {
	if in == nil {
		return nil
	}
	var out []E
	if v := reflect.ValueOf(in); v.Kind() == reflect.Slice {
		for i := range v.Len() {
			out = append(out, v.Index(i).Interface().(E))
		}
		return out
	}
	res, ok := p.await(field, in)
	if !ok {
		return nil
	}
	o := pulumi.ToOutput(in)
	lt := o.ElementType()
	for i := range reflect.ValueOf(res.Value).Len() {
		get := reflect.MakeFunc(reflect.FuncOf([]reflect.Type{lt}, []reflect.Type{lt.Elem()}, false),
			func(l []reflect.Value) []reflect.Value { return []reflect.Value{l[0].Index(i)} })
		out = append(out, o.ApplyT(get.Interface()).(E))
	}
	return out
}
