package enginecheck

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/blang/semver"

	"github.com/pulumi/pulumi/pkg/v3/display"
	"github.com/pulumi/pulumi/pkg/v3/engine"
	lt "github.com/pulumi/pulumi/pkg/v3/engine/lifecycletest/framework"
	pkgresource "github.com/pulumi/pulumi/pkg/v3/resource"
	"github.com/pulumi/pulumi/pkg/v3/resource/deploy"
	"github.com/pulumi/pulumi/pkg/v3/resource/deploy/deploytest"
	"github.com/pulumi/pulumi/pkg/v3/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag/colors"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/internal/syncbuf"
	"github.com/meshtrace/meshtrace/pulumitest"
	"github.com/meshtrace/meshtrace/stacks"
)

// Project is the Pulumi project name (Pulumi.yaml), which URNs carry.
const Project = stacks.Project

// Stack is one Pulumi stack of the program under the real engine: its state (the
// snapshot the engine wrote), the fake cloud behind the fake providers, and the config each
// operation runs with.
type Stack struct {
	T       lt.TB
	Name    string
	Program pulumi.RunFunc
	Cloud   *Cloud
	// Snapshot is the state after the last operation that wrote one (nil: empty).
	Snapshot *deploy.Snapshot

	// awsxChildren holds the URNs the fake awsx registered (inside its components).
	awsxChildren *sync.Map
}

// NewStack returns an empty stack running program.
func NewStack(t lt.TB, name string, program pulumi.RunFunc) *Stack {
	return &Stack{T: t, Name: name, Program: program, Cloud: NewCloud(), awsxChildren: &sync.Map{}}
}

// Step is one resource step of a plan or an update: what the engine decided for a resource.
type Step struct {
	Op      display.StepOp
	URN     resource.URN
	Type    string
	Changed []string // properties that differ (for updates and replacements)
	Replace []string // properties that force the replacement
}

// Result is what one engine operation did or planned.
type Result struct {
	Steps []Step
	Diags []string // error and warning messages the engine and program reported
	Err   error
	// StackOutputs are the stack's outputs as the program registered them (nil if it did not).
	StackOutputs resource.PropertyMap
}

// Changes returns the steps that change something (every op but same), once per resource
// (a replacement's create-replacement/replace/delete-replaced collapse into "replace").
func (r Result) Changes() []Step {
	seen := map[resource.URN]int{}
	var out []Step
	for _, s := range r.Steps {
		if s.Op == deploy.OpSame || s.Op == deploy.OpRead {
			continue
		}
		op := s.Op
		switch op {
		case deploy.OpCreateReplacement, deploy.OpDeleteReplaced, deploy.OpReplace:
			op = deploy.OpReplace
		}
		s.Op = op
		if i, ok := seen[s.URN]; ok {
			if op == deploy.OpReplace {
				out[i].Op = op
			}
			if len(s.Replace) > 0 {
				out[i].Replace = s.Replace
				out[i].Changed = s.Changed
			}
			continue
		}
		seen[s.URN] = len(out)
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URN < out[j].URN })
	return out
}

// Plan renders the changing steps, one a line: "op type name [changed keys]".
func (r Result) Plan() string {
	var b strings.Builder
	for _, s := range r.Changes() {
		fmt.Fprintf(&b, "  %-8s %s %s", s.Op, s.Type, s.URN.Name())
		if len(s.Replace) > 0 {
			fmt.Fprintf(&b, " (replace: %s)", strings.Join(s.Replace, ", "))
		} else if len(s.Changed) > 0 {
			fmt.Fprintf(&b, " [%s]", strings.Join(s.Changed, ", "))
		}
		b.WriteByte('\n')
	}
	if b.Len() == 0 {
		return "  (no changes)\n"
	}
	return b.String()
}

// Up runs `pulumi up` with config; on success the stack's state is the new snapshot.
func (s *Stack) Up(cfg map[string]string) Result { return s.run(engine.Update, cfg, false) }

// Preview runs `pulumi preview` with config; the state is left as it was.
func (s *Stack) Preview(cfg map[string]string) Result { return s.run(engine.Update, cfg, true) }

// Destroy runs `pulumi destroy`.
func (s *Stack) Destroy(cfg map[string]string) Result { return s.run(engine.Destroy, cfg, false) }

func (s *Stack) run(op lt.TestOp, cfg map[string]string, dryRun bool) Result {
	var res Result
	validate := func(_ workspace.Project, _ deploy.Target, _ engine.JournalEntries, events []engine.Event, err error) error {
		for _, e := range events {
			switch e.Type {
			case engine.ResourcePreEvent:
				m := e.Payload().(engine.ResourcePreEventPayload).Metadata
				step := Step{Op: m.Op, URN: m.URN, Type: string(m.Type)}
				for _, k := range m.Diffs {
					step.Changed = append(step.Changed, string(k))
				}
				for _, k := range m.Keys {
					if m.Op == deploy.OpReplace || m.Op == deploy.OpCreateReplacement {
						step.Replace = append(step.Replace, string(k))
					}
				}
				res.Steps = append(res.Steps, step)
			case engine.ResourceOutputsEvent:
				m := e.Payload().(engine.ResourceOutputsEventPayload).Metadata
				if m.Type == resource.RootStackType && m.New != nil {
					res.StackOutputs = m.New.Outputs
				}
			case engine.DiagEvent:
				d := e.Payload().(engine.DiagEventPayload)
				if d.Severity == "error" || d.Severity == "warning" {
					res.Diags = append(res.Diags, string(d.Severity)+": "+d.Message)
				}
			}
		}
		return err
	}
	project := workspace.Project{Name: tokens.PackageName(Project), Runtime: workspace.NewProjectRuntimeInfo("go", nil)}
	target := deploy.Target{
		Name:      tokens.MustParseStackName(s.Name),
		Config:    configMap(cfg),
		Decrypter: config.NopDecrypter,
		Snapshot:  lt.CloneSnapshot(s.T, s.Snapshot),
	}
	var logs syncbuf.Buffer // what the program logs (ctx.Log) through the host's engine service
	opts := lt.TestUpdateOptions{
		T:                s.T,
		HostF:            s.host(cfg, &logs),
		SkipDisplayTests: true,
		UpdateOptions:    engine.UpdateOptions{Parallel: 4},
	}
	snap, err := op.RunStep(project, target, opts, dryRun, nil, validate, "")
	res.Err = err
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.HasPrefix(line, "warning: ") || strings.HasPrefix(line, "error: ") {
			res.Diags = append(res.Diags, line)
		}
	}
	if !dryRun && snap != nil {
		s.Snapshot = snap
	}
	return res
}

func configMap(cfg map[string]string) config.Map {
	m := config.Map{}
	for k, v := range cfg {
		m[config.MustParseKey(k)] = config.NewValue(v)
	}
	return m
}

// host is the plugin host: the program as the language runtime, the fake providers. The
// program's log messages (ctx.Log) reach the host's engine service, which writes them to logs
// ("warning: ..." a line), as `pulumi` shows them.
func (s *Stack) host(cfg map[string]string, logs *syncbuf.Buffer) deploytest.PluginHostFactory {
	return func() plugin.Host {
		var host plugin.Host // set below, before the engine runs the program
		program := s.program(func() string { return host.ServerAddr() })
		sink := diag.DefaultSink(io.Discard, logs, diag.FormatOptions{Color: colors.Never})
		host = deploytest.NewPluginHostF(sink, sink, program, nil, nil, s.providerLoaders()...)()
		return host
	}
}

// program is the language runtime that runs s.Program; engineAddr is the host's engine service.
func (s *Stack) program(engineAddr func() string) deploytest.LanguageRuntimeFactory {
	return deploytest.NewLanguageRuntimeF(func(info plugin.RunInfo, _ *deploytest.ResourceMonitor) error {
		conf := map[string]string{}
		for k, v := range info.Config {
			conf[k.String()] = v
		}
		// The Go language host hands a program its config in PULUMI_CONFIG too; the
		// program reads it to refuse unknown keys. (The tests run one engine at a time.)
		raw, _ := json.Marshal(conf)
		os.Setenv("PULUMI_CONFIG", string(raw))
		defer os.Unsetenv("PULUMI_CONFIG")
		// The project directory, as `pulumi` runs a program there (relative paths, such as an
		// image's build context, resolve against it).
		root, err := pulumitest.RepoRoot()
		if err != nil {
			return err
		}
		ctx, err := pulumi.NewContext(context.Background(), pulumi.RunInfo{
			RootDirectory: root,
			Project:       info.Project,
			Stack:         info.Stack,
			Config:        conf,
			Parallel:      info.Parallel,
			DryRun:        info.DryRun,
			MonitorAddr:   info.MonitorAddress,
			EngineAddr:    engineAddr(),
		})
		if err != nil {
			return err
		}
		return pulumi.RunWithContext(ctx, s.Program)
	})
}

// providerLoaders are the fake providers.
func (s *Stack) providerLoaders() []*deploytest.ProviderLoader {
	return []*deploytest.ProviderLoader{
		deploytest.NewProviderLoader("aws", semver.MustParse(AwsVersion), func() (plugin.Provider, error) {
			return s.Cloud.awsProvider(), nil
		}),
		deploytest.NewProviderLoader("awsx", semver.MustParse(AwsxVersion), func() (plugin.Provider, error) {
			return s.Cloud.awsxProvider(s.awsxChildren), nil
		}),
		deploytest.NewProviderLoader("docker-build", semver.MustParse(DockerBuildVersion), func() (plugin.Provider, error) {
			return s.Cloud.dockerBuildProvider(), nil
		}),
	}
}

// Resources lists the state's resources.
func (s *Stack) Resources() []*pkgresource.State {
	if s.Snapshot == nil {
		return nil
	}
	return s.Snapshot.Resources
}

// stackOutputs are the outputs of the stack in the state.
func (s *Stack) stackOutputs() resource.PropertyMap {
	for _, r := range s.Resources() {
		if r.Type == resource.RootStackType {
			return r.Outputs
		}
	}
	return nil
}

// Find returns the resource of this type and name in the state.
func (s *Stack) Find(typ, name string) *pkgresource.State {
	for _, r := range s.Resources() {
		if string(r.Type) == typ && r.URN.Name() == name {
			return r
		}
	}
	return nil
}

// ProgramURNs lists the URNs in the state that the program declared: not the stack, not
// providers, not what a remote component's provider registered inside it.
func (s *Stack) ProgramURNs() []string {
	var out []string
	for _, r := range s.Resources() {
		if r.Type == resource.RootStackType || strings.HasPrefix(string(r.Type), "pulumi:providers:") {
			continue
		}
		if s.IsAwsxChild(r.URN) {
			continue
		}
		out = append(out, string(r.URN))
	}
	sort.Strings(out)
	return out
}

// IsAwsxChild reports whether the fake awsx registered urn inside one of its components.
func (s *Stack) IsAwsxChild(urn resource.URN) bool {
	_, ok := s.awsxChildren.Load(urn)
	return ok
}
