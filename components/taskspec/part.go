package taskspec

import "fmt"

// Part is what one concern (a mesh mode, a tracing mode) adds to a service's task:
// sidecar containers, environment for the app container, start-up dependencies of
// the app container, an optional proxy configuration, environment for the mesh's proxy
// and task-role permissions. The part that owns a dependency declares it; the service
// only merges parts.
type Part struct {
	Sidecars           []ContainerDefinition
	AppEnvironment     []KeyValuePair
	AppDependsOn       []ContainerDependency
	ProxyConfiguration *ProxyConfiguration
	// ProxyEnvironment is what this part asks of the mesh's proxy sidecar, if the mesh
	// runs one (tracing: Envoy's X-Ray tracer).
	ProxyEnvironment   []KeyValuePair
	TaskRoleStatements []Statement
}

// Attachment is what a part learns of the service it is attached to.
type Attachment struct {
	// ServiceName is the service's name (its segment name in traces).
	ServiceName string
	// RunAsUser is the UID whose traffic the mesh's proxy lets through untouched, for
	// sidecars that must reach AWS directly; "" when the mesh intercepts nothing.
	RunAsUser string
}

// Merge combines parts in order. Two parts may not both set a proxy configuration
// or add containers with the same name.
func Merge(parts ...Part) (Part, error) {
	var merged Part
	names := map[string]bool{}
	for _, p := range parts {
		for _, c := range p.Sidecars {
			if names[c.Name] {
				return Part{}, fmt.Errorf("two parts add a container named %q", c.Name)
			}
			names[c.Name] = true
		}
		if p.ProxyConfiguration != nil {
			if merged.ProxyConfiguration != nil {
				return Part{}, fmt.Errorf("two parts set a proxy configuration (%q and %q)",
					merged.ProxyConfiguration.ContainerName, p.ProxyConfiguration.ContainerName)
			}
			merged.ProxyConfiguration = p.ProxyConfiguration
		}
		merged.Sidecars = append(merged.Sidecars, p.Sidecars...)
		merged.AppEnvironment = append(merged.AppEnvironment, p.AppEnvironment...)
		merged.AppDependsOn = append(merged.AppDependsOn, p.AppDependsOn...)
		merged.ProxyEnvironment = append(merged.ProxyEnvironment, p.ProxyEnvironment...)
		merged.TaskRoleStatements = append(merged.TaskRoleStatements, p.TaskRoleStatements...)
	}
	return merged, nil
}
