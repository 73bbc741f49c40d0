package services

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumix"
)

// ServiceRef is what a program in another stack needs to call a service: an entry of a
// platform stack's "services" output (platform.Ref). The tags are the output's field names
// (json: how an importer reads them; pulumi: how the Go SDK exports them).
type ServiceRef struct {
	// Endpoint is what mesh clients call, http://<host>:<port>; "" for a service that joined
	// the mesh as a client only (it cannot be called).
	Endpoint string `json:"endpoint" pulumi:"endpoint"`
	// Port is the app's port, which the service's security group admits callers on.
	Port int `json:"port" pulumi:"port"`
	// SecurityGroupId is the tasks' security group: a caller adds the rule that admits it.
	SecurityGroupId string `json:"securityGroupId" pulumi:"securityGroupId"`
	// DiscoveryName is the service's name in the mesh and in service discovery.
	DiscoveryName string `json:"discoveryName" pulumi:"discoveryName"`
}

// Ref is the service's reference, for a stack to export (platform.Export).
func (s *Service) Ref() pulumix.Output[ServiceRef] {
	name, port := s.Membership.Name, s.Port
	return pulumix.Apply2(s.Endpoint, s.SecurityGroupId, func(endpoint, sg string) ServiceRef {
		return ServiceRef{Endpoint: endpoint, Port: port, SecurityGroupId: sg, DiscoveryName: name}
	})
}

// Backend declares a stand-in for the referenced service, to put in ServiceArgs.Backends of
// the services that call it (NewRemoteBackend): their security groups and mesh routes then
// reach it as they reach a service declared in the same program. name names the stand-in.
func (r ServiceRef) Backend(ctx *pulumi.Context, name string, opts ...pulumi.ResourceOption) (*Service, error) {
	if r.Endpoint == "" || r.SecurityGroupId == "" {
		return nil, fmt.Errorf("backend %s: the reference to %q has no endpoint or no security group: %+v", name, r.DiscoveryName, r)
	}
	return NewRemoteBackend(ctx, name, &RemoteBackendArgs{
		Name:            r.DiscoveryName,
		Port:            r.Port,
		Endpoint:        pulumi.String(r.Endpoint),
		SecurityGroupId: pulumi.String(r.SecurityGroupId),
	}, opts...)
}
