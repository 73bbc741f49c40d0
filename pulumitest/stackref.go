package pulumitest

import (
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// stackReferenceType is the resource a pulumi.StackReference reads.
const stackReferenceType = "pulumi:pulumi:StackReference"

// WithStackOutputs makes a pulumi.StackReference to stack (its StackReferenceArgs.Name, e.g.
// "organization/meshtrace/dev") read outputs, plain values as the engine hands them over
// (StackOutputs' result). A reference to a stack given no outputs fails the run, as a
// reference to a stack that does not exist does.
func (m *Mocks) WithStackOutputs(stack string, outputs map[string]any) *Mocks {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stackOutputs == nil {
		m.stackOutputs = map[string]map[string]any{}
	}
	m.stackOutputs[stack] = outputs
	return m
}

// readStackReference answers a StackReference's read: its name and the stack's outputs.
func (m *Mocks) readStackReference(args pulumi.MockResourceArgs) (resource.PropertyMap, error) {
	stack := args.ID
	if v, ok := args.Inputs["name"]; ok && v.IsString() {
		stack = v.StringValue()
	}
	m.mu.Lock()
	outputs, ok := m.stackOutputs[stack]
	m.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("pulumitest: no outputs for the stack reference to %q (Mocks.WithStackOutputs)", stack)
	}
	return resource.NewPropertyMapFromMap(map[string]any{"name": stack, "outputs": outputs}), nil
}

// RunWith runs program under the mocks m (NewMocks, NewProjectMocks), as RunAt does.
func RunWith(m *Mocks, root string, config map[string]string, program pulumi.RunFunc) error {
	withConfig := func(info *pulumi.RunInfo) { info.Config = config; info.RootDirectory = root }
	return pulumi.RunErr(program, pulumi.WithMocks(m.project, m.stack, m), withConfig)
}

// StackOutputs runs program under the mocks for a stack with the config of the repository's
// Pulumi.<stack>.yaml and overrides (as RunStack), and returns the stack outputs it exported,
// resolved to what a StackReference to the stack reads: strings, float64 numbers, bools,
// []any and map[string]any, a struct as the map of its `pulumi`-tagged fields.
func StackOutputs(stack string, overrides map[string]string, program pulumi.RunFunc) (map[string]any, *Mocks, error) {
	var (
		mu      sync.Mutex
		outputs map[string]any
		failed  error
	)
	capture := func(ctx *pulumi.Context) error {
		if err := program(ctx); err != nil {
			return err
		}
		pulumi.Map(ctx.GetCurrentExportMap()).ToMapOutput().ApplyT(func(v map[string]any) (bool, error) {
			mu.Lock()
			defer mu.Unlock()
			outputs = map[string]any{}
			for k, e := range v {
				p, err := plainOutput(reflect.ValueOf(e))
				if err != nil {
					failed = fmt.Errorf("pulumitest: stack output %s: %w", k, err)
					return false, failed
				}
				outputs[k] = p
			}
			return true, nil
		})
		return nil
	}
	m, err := RunStack(stack, overrides, capture)
	if err != nil {
		return nil, m, err
	}
	mu.Lock()
	defer mu.Unlock()
	if failed != nil {
		return nil, m, failed
	}
	return outputs, m, nil
}

// plainOutput is a resolved output value as the engine serializes it: structs by their
// `pulumi` tags (as the Go SDK marshals them), numbers as float64.
func plainOutput(v reflect.Value) (any, error) {
	if !v.IsValid() {
		return nil, nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil, nil
		}
		return plainOutput(v.Elem())
	case reflect.String:
		return v.String(), nil
	case reflect.Bool:
		return v.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(v.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return v.Float(), nil
	case reflect.Slice, reflect.Array:
		out := []any{}
		for i := range v.Len() {
			e, err := plainOutput(v.Index(i))
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		return out, nil
	case reflect.Map:
		out := map[string]any{}
		for _, k := range v.MapKeys() {
			e, err := plainOutput(v.MapIndex(k))
			if err != nil {
				return nil, err
			}
			out[fmt.Sprint(k.Interface())] = e
		}
		return out, nil
	case reflect.Struct:
		out := map[string]any{}
		for i := range v.NumField() {
			tag, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("pulumi"), ",")
			if tag == "" {
				continue // the Go SDK marshals only tagged fields
			}
			e, err := plainOutput(v.Field(i))
			if err != nil {
				return nil, err
			}
			out[tag] = e
		}
		return out, nil
	}
	return nil, fmt.Errorf("a %s is no stack output value", v.Type())
}
