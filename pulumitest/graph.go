package pulumitest

import (
	"encoding/json"
	"sort"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Redacted stands in for a secret value in exported inputs.
const Redacted = "[secret]"

// Unknown stands in for a value not known under mocks.
const Unknown = "[unknown]"

// GraphResource is one resource of an exported graph.
type GraphResource struct {
	Type         string         `json:"type"`
	Name         string         `json:"name"`
	URN          string         `json:"urn"`
	Parent       string         `json:"parent,omitempty"`
	Custom       bool           `json:"custom"`
	Inputs       map[string]any `json:"inputs"`
	Dependencies []string       `json:"dependencies,omitempty"`
}

// Graph is the resource graph a program declared, in a deterministic order.
type Graph struct {
	Stack     string            `json:"stack"`
	Config    map[string]string `json:"config,omitempty"`
	Resources []GraphResource   `json:"resources"`
}

// Graph exports what was recorded. Secrets are replaced by Redacted.
func (m *Mocks) Graph(config map[string]string) Graph {
	g := Graph{Stack: m.stack, Config: config}
	for _, r := range m.Resources() {
		g.Resources = append(g.Resources, GraphResource{
			Type:         r.Type,
			Name:         r.Name,
			URN:          r.URN,
			Parent:       r.Parent,
			Custom:       r.Custom,
			Inputs:       r.Plain(),
			Dependencies: r.Dependencies,
		})
	}
	return g
}

// JSON renders the graph, indented, with sorted keys.
func (g Graph) JSON() ([]byte, error) {
	return json.MarshalIndent(g, "", "  ")
}

// Plain returns the resource's inputs as plain Go values (maps, slices, strings,
// float64, bool), secrets replaced by Redacted.
func (r Resource) Plain() map[string]any {
	return plainMap(r.Inputs)
}

// SecretPaths lists the input paths that hold secret values.
func (r Resource) SecretPaths() []string {
	var paths []string
	var walk func(path string, v resource.PropertyValue)
	walk = func(path string, v resource.PropertyValue) {
		switch {
		case v.IsSecret():
			paths = append(paths, path)
		case v.IsObject():
			for k, e := range v.ObjectValue() {
				walk(path+"."+string(k), e)
			}
		case v.IsArray():
			for _, e := range v.ArrayValue() {
				walk(path+"[]", e)
			}
		case v.IsOutput():
			walk(path, v.OutputValue().Element)
		}
	}
	for k, v := range r.Inputs {
		walk(string(k), v)
	}
	sort.Strings(paths)
	return paths
}

func plainMap(props resource.PropertyMap) map[string]any {
	out := map[string]any{}
	for k, v := range props {
		if p, ok := plain(v); ok {
			out[string(k)] = p
		}
	}
	return out
}

func plain(v resource.PropertyValue) (any, bool) {
	switch {
	case v.IsNull():
		return nil, false
	case v.IsSecret():
		return Redacted, true
	case v.IsComputed():
		return Unknown, true
	case v.IsOutput():
		o := v.OutputValue()
		if o.Secret {
			return Redacted, true
		}
		if !o.Known {
			return Unknown, true
		}
		return plain(o.Element)
	case v.IsString():
		return v.StringValue(), true
	case v.IsNumber():
		return v.NumberValue(), true
	case v.IsBool():
		return v.BoolValue(), true
	case v.IsArray():
		arr := []any{}
		for _, e := range v.ArrayValue() {
			p, ok := plain(e)
			if !ok {
				p = nil
			}
			arr = append(arr, p)
		}
		return arr, true
	case v.IsObject():
		return plainMap(v.ObjectValue()), true
	case v.IsResourceReference():
		return v.ResourceReferenceValue().URN, true
	case v.IsAsset(), v.IsArchive():
		return "[asset]", true
	}
	return nil, false
}
