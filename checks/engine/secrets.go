package enginecheck

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/pkg/v3/resource/stack"
	"github.com/pulumi/pulumi/pkg/v3/secrets/passphrase"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Checkpoint serializes the state as `pulumi stack export` writes it for a stack with the
// passphrase secrets provider: secret values encrypted, the rest as is.
func (s *Stack) Checkpoint() ([]byte, error) {
	if s.Snapshot == nil {
		return nil, fmt.Errorf("no state")
	}
	_, sm, err := passphrase.NewPassphraseSecretsManager("engine-check-passphrase")
	if err != nil {
		return nil, err
	}
	snap := *s.Snapshot
	snap.SecretsManager = sm
	dep, err := stack.SerializeDeployment(context.Background(), &snap, false)
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(dep, "", "  ")
}

// SecretValue is a value the state must not hold in plain text, and where it was found.
type SecretValue struct {
	Where string // urn, inputs|outputs, property path
	Value string
}

// SecretValues lists every value that is secret in the state: marked secret in a resource's
// inputs or outputs, or held by a property the providers' schemas mark sensitive (which a
// real provider returns as a secret, so its plaintext anywhere is a leak).
func (s *Stack) SecretValues() []SecretValue {
	var out []SecretValue
	var walk func(where string, v resource.PropertyValue, secret bool)
	walk = func(where string, v resource.PropertyValue, secret bool) {
		switch {
		case v.IsSecret():
			walk(where, v.SecretValue().Element, true)
		case v.IsOutput():
			o := v.OutputValue()
			walk(where, o.Element, secret || o.Secret)
		case v.IsObject():
			for k, e := range v.ObjectValue() {
				walk(where+"."+string(k), e, secret || sensitive[k])
			}
		case v.IsArray():
			for i, e := range v.ArrayValue() {
				walk(fmt.Sprintf("%s[%d]", where, i), e, secret)
			}
		case secret && v.IsString():
			out = append(out, SecretValue{Where: where, Value: v.StringValue()})
		case secret && (v.IsNumber() || v.IsBool()):
			// Too short to search for without false hits; they are not credentials anyway.
		}
	}
	for _, r := range s.Resources() {
		for _, part := range []struct {
			name  string
			props resource.PropertyMap
		}{{"inputs", r.Inputs}, {"outputs", r.Outputs}} {
			for k, v := range part.props {
				walk(string(r.URN)+" "+part.name+" "+string(k), v, sensitive[k])
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Where < out[j].Where })
	return out
}

// minSecretLen is the shortest secret searched for: shorter values ("AWS", "true") would
// match by chance.
const minSecretLen = 8

// PlaintextLeaks returns the secret values whose plaintext appears in the checkpoint.
func PlaintextLeaks(checkpoint []byte, secrets []SecretValue) []SecretValue {
	text := string(checkpoint)
	var leaks []SecretValue
	for _, sv := range secrets {
		if len(sv.Value) < minSecretLen {
			continue
		}
		quoted, _ := json.Marshal(sv.Value)
		inner := strings.Trim(string(quoted), `"`)
		if strings.Contains(text, sv.Value) || strings.Contains(text, inner) {
			leaks = append(leaks, sv)
		}
	}
	return leaks
}

// passwordKey matches an output name that would hold a password or other credential.
var passwordKey = regexp.MustCompile(`(?i)password|passwd|secretstring|credential|token|private_?key`)

// OutputLeaks returns the stack outputs that hold a password: by name, or because they
// contain the plaintext of a secret of the state (even when the output itself is secret).
func (s *Stack) OutputLeaks(secrets []SecretValue) []string {
	var leaks []string
	for _, r := range s.Resources() {
		if r.Type != resource.RootStackType {
			continue
		}
		for k, v := range r.Outputs {
			if passwordKey.MatchString(string(k)) {
				leaks = append(leaks, fmt.Sprintf("output %q is named like a credential", k))
			}
			b, _ := json.Marshal(v.MapRepl(nil, func(v resource.PropertyValue) (any, bool) {
				if v.IsSecret() {
					return v.SecretValue().Element.MapRepl(nil, nil), true
				}
				return nil, false
			}))
			for _, sv := range secrets {
				if strings.HasPrefix(sv.Where, string(r.URN)+" outputs") {
					continue // the output itself: a secret output is fine unless it holds a resource's secret
				}
				if len(sv.Value) >= minSecretLen && strings.Contains(string(b), sv.Value) {
					leaks = append(leaks, fmt.Sprintf("output %q holds the secret of %s", k, sv.Where))
				}
			}
		}
	}
	sort.Strings(leaks)
	return leaks
}
