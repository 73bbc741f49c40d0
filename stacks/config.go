package stacks

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/meshtrace/meshtrace/apps/contract"
	"github.com/meshtrace/meshtrace/components/mesh"
	"github.com/meshtrace/meshtrace/components/naming"
	"github.com/meshtrace/meshtrace/components/taskspec"
	"github.com/meshtrace/meshtrace/components/xray"
)

// Namespace is the Pulumi config namespace of every meshtrace key.
const Namespace = "meshtrace"

// Mesh and tracing modes: the components' own names for them.
const (
	MeshServiceConnect = mesh.ModeServiceConnect
	MeshAppMesh        = mesh.ModeAppMesh
	TracingXRayDaemon  = xray.ModeDaemon
	TracingADOT        = xray.ModeADOT
)

// Config is the whole system's configuration, read from the meshtrace: namespace of
// the stack's config, with defaults per environment, validated before anything is
// declared.
type Config struct {
	Environment string // "dev" or "prod"; default: "prod" for a stack named prod*, else "dev"

	// NamePrefix starts every account-unique physical name of the stack: <project>-<stack>
	// (naming.StackPrefix), so two stacks of one environment in one account cannot collide.
	NamePrefix string
	// LogGroupPath is the path of the services' log groups: /<project>/<stack>.
	LogGroupPath string

	MeshMode string // "serviceconnect" (default) or "appmesh"
	// AllowDiscontinuedAppMesh acknowledges that App Mesh was discontinued on 2026-09-30;
	// meshMode appmesh is refused without it.
	AllowDiscontinuedAppMesh bool
	TracingMode              string // "adot" (default) or "xray-daemon"
	// AllowXRayEndOfSupport acknowledges that the X-Ray daemon and SDKs reach end of support on
	// 2027-02-25; from then on tracingMode xray-daemon is refused without it.
	AllowXRayEndOfSupport bool

	VpcCidr          string // default 10.0.0.0/16; prefix /16 to /24
	NatGateways      string // "single" (dev) or "onePerAz" (prod)
	NamespaceName    string // Cloud Map private DNS namespace; default meshtrace.local
	LogRetentionDays int    // CloudWatch retention; dev 7, prod 90

	Database DatabaseConfig
	Products ServiceConfig
	Payments ServiceConfig

	Edge      EdgeConfig      // HTTPS, access logs, WAF (guardrails.go)
	Hardening HardeningConfig // flow logs, sidecar images (guardrails.go)

	Operations OperationsConfig // autoscaling and alarms (operations.go)

	SamplingFixedRate float64 // share of requests traced beyond the reservoir; default contract.DefaultSamplingFixedRate
	SamplingReservoir int     // requests per second always traced; default 1
	// EdgeForcedTracesPerSecond is how many requests a second the edge (products) traces
	// because the caller asked (X-Amzn-Trace-Id Sampled=1); beyond that its rule decides.
	EdgeForcedTracesPerSecond int
}

// DatabaseConfig configures the RDS PostgreSQL instance.
type DatabaseConfig struct {
	InstanceClass       string // dev db.t4g.micro, prod db.m7g.large
	EngineVersion       string // PostgreSQL major or major.minor; default 16
	AllocatedStorageGb  int    // dev 20, prod 100
	MultiAZ             bool   // dev false, prod true
	BackupRetentionDays int    // dev 1, prod 14
	DeletionProtection  bool   // dev false, prod true
	Name                string // default contract.DatabaseName
	Username            string // default meshtrace
	MaxConnsPerTask     int    // products' pool size per task; dev 5, prod 10
}

// ServiceConfig sizes one service's task.
type ServiceConfig struct {
	Cpu          int    // Fargate task CPU units; dev 256, prod 512
	Memory       int    // MiB; dev 512, prod 1024
	DesiredCount int    // dev 1, prod 2
	MinCount     int    // autoscaling's fewest tasks; dev 1, prod 2
	MaxCount     int    // autoscaling's most tasks; dev 2, prod 6
	Image        string // image URI; empty: build from apps/<service> and push to ECR
}

// key describes one config key: its name, the defaults per environment and how it
// is applied to Config. One table drives parsing, validation and the README.
type key struct {
	name    string
	dev     string
	prod    string
	allowed string // shown in errors and docs
	apply   func(c *Config, v string) error
}

var (
	dnsNamePattern       = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$`)
	identifierPattern    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,62}$`)
	instanceClassPattern = regexp.MustCompile(`^db\.[a-z][a-z0-9-]*\.[a-z0-9]+$`)
	engineVersionPattern = regexp.MustCompile(`^(\d+)(\.\d+)?$`)
	// An image URI with a tag, a digest, or both (repo:tag@sha256:..., where the digest wins).
	imagePattern = regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(@sha256:[a-f0-9]{64})?|@sha256:[a-f0-9]{64})$`)
)

// Values accepted by AWS for CloudWatch Logs retention (PutRetentionPolicy).
var logRetentionDays = taskspec.LogRetentionDays()

// PostgreSQL major versions RDS offers and that we support.
var postgresMajors = []int{13, 14, 15, 16, 17}

// The keys of autoscaling and alarms are in operations.go, appended to this table.
var keys = []key{
	{"environment", "dev", "prod", "dev | prod", func(c *Config, v string) error {
		return oneOf(&c.Environment, v, "dev", "prod")
	}},
	{"meshMode", MeshServiceConnect, MeshServiceConnect, "serviceconnect | appmesh", func(c *Config, v string) error {
		return oneOf(&c.MeshMode, v, MeshServiceConnect, MeshAppMesh)
	}},
	{"allowDiscontinuedAppMesh", "false", "false", "true | false (true: acknowledge that meshMode appmesh cannot deploy since 2026-09-30)", func(c *Config, v string) error {
		return boolean(&c.AllowDiscontinuedAppMesh, v)
	}},
	{"tracingMode", TracingADOT, TracingADOT, "adot | xray-daemon (the X-Ray daemon and SDKs: end of support 2027-02-25)", func(c *Config, v string) error {
		return oneOf(&c.TracingMode, v, TracingADOT, TracingXRayDaemon)
	}},
	{"allowXRayEndOfSupport", "false", "false", "true | false (true: keep tracingMode xray-daemon from 2027-02-25 on, past the X-Ray daemon's and SDKs' end of support)", func(c *Config, v string) error {
		return boolean(&c.AllowXRayEndOfSupport, v)
	}},
	{"vpcCidr", "10.0.0.0/16", "10.0.0.0/16", "an IPv4 CIDR from /16 to /24 (2 AZs x public + private subnets)", func(c *Config, v string) error {
		p, err := netip.ParsePrefix(v)
		if err != nil || !p.Addr().Is4() {
			return errors.New("does not parse as an IPv4 CIDR")
		}
		if p.Bits() < 16 || p.Bits() > 24 {
			return fmt.Errorf("/%d is outside /16 to /24", p.Bits())
		}
		if p.Masked() != p {
			return fmt.Errorf("has host bits set (did you mean %s?)", p.Masked())
		}
		c.VpcCidr = v
		return nil
	}},
	{"natGateways", "single", "onePerAz", "single | onePerAz", func(c *Config, v string) error {
		return oneOf(&c.NatGateways, v, "single", "onePerAz")
	}},
	{"namespace", "meshtrace.local", "meshtrace.local", "a lower-case DNS name with at least two labels", func(c *Config, v string) error {
		return match(&c.NamespaceName, v, dnsNamePattern)
	}},
	{"logRetentionDays", "7", "90", "a CloudWatch retention: " + joinInts(logRetentionDays), func(c *Config, v string) error {
		return intIn(&c.LogRetentionDays, v, logRetentionDays)
	}},
	{"dbInstanceClass", "db.t4g.micro", "db.m7g.large", "an RDS instance class like db.t4g.micro", func(c *Config, v string) error {
		return match(&c.Database.InstanceClass, v, instanceClassPattern)
	}},
	{"dbEngineVersion", "16", "16", "a PostgreSQL version, major or major.minor, major " + joinInts(postgresMajors), func(c *Config, v string) error {
		m := engineVersionPattern.FindStringSubmatch(v)
		if m == nil {
			return errors.New("is not major or major.minor")
		}
		major, _ := strconv.Atoi(m[1])
		if !slices.Contains(postgresMajors, major) {
			return fmt.Errorf("major %d is not supported", major)
		}
		c.Database.EngineVersion = v
		return nil
	}},
	{"dbAllocatedStorageGb", "20", "100", "an integer from 20 to 65536", func(c *Config, v string) error {
		return intRange(&c.Database.AllocatedStorageGb, v, 20, 65536)
	}},
	{"dbMultiAz", "false", "true", "true | false", func(c *Config, v string) error {
		return boolean(&c.Database.MultiAZ, v)
	}},
	{"dbBackupRetentionDays", "1", "14", "an integer from 1 to 35", func(c *Config, v string) error {
		return intRange(&c.Database.BackupRetentionDays, v, 1, 35)
	}},
	{"dbDeletionProtection", "false", "true", "true | false", func(c *Config, v string) error {
		return boolean(&c.Database.DeletionProtection, v)
	}},
	{"dbName", contract.DatabaseName, contract.DatabaseName, "a letter then up to 62 letters, digits or _", func(c *Config, v string) error {
		return match(&c.Database.Name, v, identifierPattern)
	}},
	{"dbUsername", "meshtrace", "meshtrace", "a letter then up to 62 letters, digits or _ (not rdsadmin)", func(c *Config, v string) error {
		if v == "rdsadmin" {
			return errors.New("is reserved by RDS")
		}
		return match(&c.Database.Username, v, identifierPattern)
	}},
	{"dbMaxConnsPerTask", "5", "10", "an integer from 1 to 100 (products' connection pool per task; the sum over tasks must fit the instance's max_connections)", func(c *Config, v string) error {
		return intRange(&c.Database.MaxConnsPerTask, v, 1, 100)
	}},
	{"taskCpu", "256", "512", "Fargate CPU units: 256 | 512 | 1024 | 2048 | 4096 | 8192 | 16384", func(c *Config, v string) error {
		if err := intIn(&c.Products.Cpu, v, fargateCPUs()); err != nil {
			return err
		}
		c.Payments.Cpu = c.Products.Cpu
		return nil
	}},
	{"taskMemory", "512", "1024", "MiB that Fargate pairs with taskCpu: 256: 512, 1024, 2048; 512: 1024-4096, 1024: 2048-8192, 2048: 4096-16384, 4096: 8192-30720 (steps of 1024); 8192: 16384-61440 (steps of 4096); 16384: 32768-122880 (steps of 8192)", func(c *Config, v string) error {
		if err := intRange(&c.Products.Memory, v, 512, 122880); err != nil {
			return err
		}
		c.Payments.Memory = c.Products.Memory
		return nil
	}},
	{"desiredCount", "1", "2", "an integer from 1 to 100", func(c *Config, v string) error {
		if err := intRange(&c.Products.DesiredCount, v, 1, 100); err != nil {
			return err
		}
		c.Payments.DesiredCount = c.Products.DesiredCount
		return nil
	}},
	{"productsImage", "", "", "empty (build apps/products) or an image URI with a tag or digest", func(c *Config, v string) error {
		return optionalMatch(&c.Products.Image, v, imagePattern)
	}},
	{"paymentsImage", "", "", "empty (build apps/payments) or an image URI with a tag or digest", func(c *Config, v string) error {
		return optionalMatch(&c.Payments.Image, v, imagePattern)
	}},
	{"samplingFixedRate", fmt.Sprint(contract.DefaultSamplingFixedRate), fmt.Sprint(contract.DefaultSamplingFixedRate), "a number from 0 to 1", func(c *Config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		// Written so that NaN (every comparison with it is false) is refused too.
		if err != nil || !(f >= 0 && f <= 1) {
			return errors.New("is not a number from 0 to 1")
		}
		c.SamplingFixedRate = f
		return nil
	}},
	{"samplingReservoir", fmt.Sprint(contract.DefaultSamplingReservoir), fmt.Sprint(contract.DefaultSamplingReservoir), "an integer from 0 to 100000", func(c *Config, v string) error {
		return intRange(&c.SamplingReservoir, v, 0, 100000)
	}},
	{"edgeForcedTracesPerSecond", "1", "1", "an integer from 0 to 1000: requests a second products traces because an internet caller asked (Sampled=1); the rule decides the rest", func(c *Config, v string) error {
		return intRange(&c.EdgeForcedTracesPerSecond, v, 0, 1000)
	}},
	// Issue 11: the edge, the network and the supply chain (guardrails.go).
	{"certificateArn", "", "", "empty or an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)", func(c *Config, v string) error {
		return optionalMatch(&c.Edge.CertificateArn, v, certificateArnPattern)
	}},
	{"domainName", "", "", "empty or a DNS name for the public endpoint (with hostedZoneId: a certificate and an alias record are created)", func(c *Config, v string) error {
		return optionalMatch(&c.Edge.DomainName, v, dnsNamePattern)
	}},
	{"hostedZoneId", "", "", "empty or a Route 53 hosted zone id (Z...)", func(c *Config, v string) error {
		return optionalMatch(&c.Edge.HostedZoneId, v, hostedZonePattern)
	}},
	{"allowPlainHttp", "false", "false", "true | false (true: a prod stack may serve plain HTTP)", func(c *Config, v string) error {
		return boolean(&c.Edge.AllowPlainHttp, v)
	}},
	{"albAccessLogs", "false", "true", "true | false (load balancer access logs to an S3 bucket of the stack)", func(c *Config, v string) error {
		return boolean(&c.Edge.AccessLogs, v)
	}},
	{"waf", "false", "true", "true | false (a WAF web ACL on the load balancer)", func(c *Config, v string) error {
		return boolean(&c.Edge.Waf, v)
	}},
	{"wafRateLimit", "1000", "1000", "requests per client IP per 5 minutes before the WAF blocks it, 100 to 2000000000", func(c *Config, v string) error {
		return intRange(&c.Edge.WafRateLimit, v, 100, 2000000000)
	}},
	{"vpcFlowLogs", "false", "true", "true | false (VPC flow logs to CloudWatch Logs)", func(c *Config, v string) error {
		return boolean(&c.Hardening.FlowLogs, v)
	}},
	{"vpcEndpoints", "false", "true", "true | false (VPC endpoints for AWS, sidecar images through an ECR pull-through cache; the tasks' 443 egress only to them)", func(c *Config, v string) error {
		return boolean(&c.Hardening.VpcEndpoints, v)
	}},
	{"envoyImage", "", "", "empty (the pinned default) or an image URI; in prod with a @sha256 digest", func(c *Config, v string) error {
		return optionalMatch(&c.Hardening.EnvoyImage, v, imagePattern)
	}},
	{"xrayDaemonImage", "", "", "empty (the pinned default) or an image URI; in prod with a @sha256 digest", func(c *Config, v string) error {
		return optionalMatch(&c.Hardening.XRayDaemonImage, v, imagePattern)
	}},
	{"adotImage", "", "", "empty (the pinned default) or an image URI; in prod with a @sha256 digest", func(c *Config, v string) error {
		return optionalMatch(&c.Hardening.CollectorImage, v, imagePattern)
	}},
}

// fargateMemory lists, per task CPU, the memory sizes Fargate accepts (MiB): the one table
// in components/taskspec/awslimits.json.
var fargateMemory = taskspec.FargateSizes()

func fargateCPUs() []int {
	var cpus []int
	for c := range fargateMemory {
		cpus = append(cpus, c)
	}
	sort.Ints(cpus)
	return cpus
}

// ConfigError lists every problem found in a stack's config.
type ConfigError struct{ Problems []string }

func (e *ConfigError) Error() string {
	return "invalid stack config:\n  " + strings.Join(e.Problems, "\n  ")
}

// DefaultEnvironment is the environment a stack gets when meshtrace:environment is unset.
func DefaultEnvironment(stack string) string {
	if strings.HasPrefix(stack, "prod") {
		return "prod"
	}
	return "dev"
}

// Project is the Pulumi project's name (Pulumi.yaml).
const Project = "meshtrace"

// Parse builds the Config of a stack of this project from its raw meshtrace: values (keys
// without the namespace). Missing keys take the environment's default. Every unknown key
// and every bad value is reported at once, each naming the key and what it accepts.
func Parse(stack string, raw map[string]string) (Config, error) {
	return ParseFor(Project, stack, raw)
}

// ParseFor is Parse for a stack of the named project (a copy of this program under another
// project name gets names of its own).
func ParseFor(project, stack string, raw map[string]string) (Config, error) {
	var problems []string
	known := map[string]bool{}
	for _, k := range keys {
		known[k.name] = true
	}
	for name := range raw {
		if !known[name] {
			problems = append(problems, fmt.Sprintf("%s:%s is not a meshtrace key (known: %s)", Namespace, name, strings.Join(KeyNames(), ", ")))
		}
	}

	env := DefaultEnvironment(stack)
	if v, ok := raw["environment"]; ok {
		env = v
	}
	c := Config{NamePrefix: naming.ForStack(project, stack), LogGroupPath: "/" + project + "/" + stack}
	if err := naming.CheckPrefix(c.NamePrefix); err != nil {
		problems = append(problems, fmt.Sprintf("project %q, stack %q: %v; physical names are <project>-<stack>: "+
			"name the stack with lower-case letters, digits and single hyphens", project, stack, err))
	}
	for _, k := range keys {
		v, set := raw[k.name]
		if !set {
			v = k.dev
			if env == "prod" {
				v = k.prod
			}
		}
		if err := k.apply(&c, strings.TrimSpace(v)); err != nil {
			problems = append(problems, fmt.Sprintf("%s:%s = %q %v; allowed: %s", Namespace, k.name, v, err, k.allowed))
		}
	}
	if mem, ok := fargateMemory[c.Products.Cpu]; ok && c.Products.Memory != 0 && !slices.Contains(mem, c.Products.Memory) {
		problems = append(problems, fmt.Sprintf("%s:taskMemory = %d is not a Fargate size for %s:taskCpu = %d; allowed: %s",
			Namespace, c.Products.Memory, Namespace, c.Products.Cpu, joinInts(mem)))
	}
	// Autoscaling may run products at its maxCount: the pools must fit then.
	if c.Database.InstanceClass != "" && c.Database.MaxConnsPerTask != 0 && c.Products.MaxCount != 0 {
		if problem := checkPoolFits(c.Database.InstanceClass, c.Products.MaxCount, c.Database.MaxConnsPerTask); problem != "" {
			problems = append(problems, problem)
		}
	}
	problems = append(problems, checkOperations(c)...)
	if c.Environment == "prod" {
		problems = append(problems, prodGuardrails(c)...)
	}
	problems = append(problems, edgeProblems(c)...)
	if why := mesh.Discontinued(c.MeshMode); why != "" && !c.AllowDiscontinuedAppMesh {
		problems = append(problems, fmt.Sprintf("%s:meshMode = %q: %s; "+
			"`pulumi up` would create half a stack and then fail when it creates the mesh. Use %q (ECS Service Connect, "+
			"the successor), or set %s:allowDiscontinuedAppMesh: true if you know what you are doing (an account that "+
			"still has App Mesh access, or previews and tests only)", Namespace, c.MeshMode, why, MeshServiceConnect, Namespace))
	}
	if problem := tracingModeProblem(c, now()); problem != "" {
		problems = append(problems, problem)
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		return Config{}, &ConfigError{Problems: problems}
	}
	return c, nil
}

// KeyNames lists the meshtrace: config keys.
func KeyNames() []string {
	var names []string
	for _, k := range keys {
		names = append(names, k.name)
	}
	return names
}

// LoadConfig reads and validates the stack's meshtrace: config.
func LoadConfig(ctx *pulumi.Context) (Config, error) {
	raw := map[string]string{}
	for _, k := range keys {
		if v, err := config.Try(ctx, Namespace+":"+k.name); err == nil {
			raw[k.name] = v
		}
	}
	// The engine hands a Go program its whole config in PULUMI_CONFIG; reading the key
	// list from there lets a misspelt key fail instead of being silently ignored.
	var all map[string]any
	if err := json.Unmarshal([]byte(os.Getenv("PULUMI_CONFIG")), &all); err == nil {
		for name, v := range all {
			if short, ok := strings.CutPrefix(name, Namespace+":"); ok {
				if _, seen := raw[short]; !seen {
					raw[short] = fmt.Sprint(v)
				}
			}
		}
	}
	if _, set := raw["environment"]; !set {
		ctx.Log.Warn(fmt.Sprintf("%s:environment is not set; using %q from the stack name %q. Set it explicitly.",
			Namespace, DefaultEnvironment(ctx.Stack()), ctx.Stack()), nil)
	}
	return ParseFor(ctx.Project(), ctx.Stack(), raw)
}

func oneOf(dst *string, v string, allowed ...string) error {
	if !slices.Contains(allowed, v) {
		return errors.New("is not allowed")
	}
	*dst = v
	return nil
}

func match(dst *string, v string, pattern *regexp.Regexp) error {
	if !pattern.MatchString(v) {
		return errors.New("has the wrong shape")
	}
	*dst = v
	return nil
}

func optionalMatch(dst *string, v string, pattern *regexp.Regexp) error {
	if v == "" {
		*dst = ""
		return nil
	}
	return match(dst, v, pattern)
}

func intRange(dst *int, v string, lo, hi int) error {
	n, err := strconv.Atoi(v)
	if err != nil {
		return errors.New("is not an integer")
	}
	if n < lo || n > hi {
		return fmt.Errorf("is outside %d..%d", lo, hi)
	}
	*dst = n
	return nil
}

func intIn(dst *int, v string, allowed []int) error {
	n, err := strconv.Atoi(v)
	if err != nil {
		return errors.New("is not an integer")
	}
	if !slices.Contains(allowed, n) {
		return errors.New("is not allowed")
	}
	*dst = n
	return nil
}

func boolean(dst *bool, v string) error {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return errors.New("is not true or false")
	}
	*dst = b
	return nil
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// Modes is one mesh mode with one tracing mode.
type Modes struct{ Mesh, Tracing string }

// AllModes lists every mesh x tracing combination, default first.
func AllModes() []Modes {
	var out []Modes
	for _, m := range []string{MeshServiceConnect, MeshAppMesh} {
		for _, t := range []string{TracingADOT, TracingXRayDaemon} {
			out = append(out, Modes{Mesh: m, Tracing: t})
		}
	}
	return out
}

// Overrides is the stack config that selects these modes (App Mesh, and the X-Ray daemon
// past its end of support, with their acknowledgements, which tests and previews of those
// modes need).
func (m Modes) Overrides() map[string]string {
	o := map[string]string{Namespace + ":meshMode": m.Mesh, Namespace + ":tracingMode": m.Tracing}
	if mesh.Discontinued(m.Mesh) != "" {
		o[Namespace+":allowDiscontinuedAppMesh"] = "true"
	}
	if _, ends := xray.EndOfSupport(m.Tracing); ends {
		o[Namespace+":allowXRayEndOfSupport"] = "true"
	}
	return o
}

// String names the combination, e.g. serviceconnect-adot.
func (m Modes) String() string { return m.Mesh + "-" + m.Tracing }
