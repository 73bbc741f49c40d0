package services

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/components/mesh"
)

// RemoteBackendArgs describes a service declared elsewhere that a service here calls: in
// the component package (provider/, which constructs each service on its own), from another
// component's outputs. A program in another stack does not fill it by hand: it imports the
// service's ServiceRef from the stack (platform.Import) and calls ServiceRef.Backend.
type RemoteBackendArgs struct {
	// Name and Port are the backend's name in the mesh and its app's port. Required.
	Name string
	Port int
	// Endpoint is the backend's Endpoint output (http://<host>:<port>). Required.
	Endpoint pulumi.StringInput
	// SecurityGroupId is the backend's SecurityGroupId output: it admits the caller on Port.
	// Required.
	SecurityGroupId pulumi.StringInput
}

// NewRemoteBackend declares a stand-in for a backend declared elsewhere, to put in
// ServiceArgs.Backends: a component with no children (so that the caller's ECS service
// can depend on it), whose Membership is mesh.Remote's. Declare it as a child of the
// caller's parent, named after caller and backend.
func NewRemoteBackend(ctx *pulumi.Context, name string, args *RemoteBackendArgs, opts ...pulumi.ResourceOption) (*Service, error) {
	if args.SecurityGroupId == nil {
		return nil, fmt.Errorf("remote backend %s: SecurityGroupId is required", name)
	}
	membership, err := mesh.Remote(args.Name, args.Port, args.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("remote backend %s: %w", name, err)
	}
	s := &Service{Port: args.Port, Membership: membership}
	if err := ctx.RegisterComponentResource("meshtrace:services:RemoteBackend", name, s, opts...); err != nil {
		return nil, err
	}
	s.Endpoint = membership.Endpoint
	s.SecurityGroupId = args.SecurityGroupId.ToStringOutput()
	if err := ctx.RegisterResourceOutputs(s, pulumi.Map{"endpoint": s.Endpoint, "securityGroupId": s.SecurityGroupId}); err != nil {
		return nil, err
	}
	return s, nil
}
