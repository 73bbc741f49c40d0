package mesh

import (
	"fmt"
	"net/url"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumix"

	"github.com/meshtrace/meshtrace/components/taskspec"
)

// Remote is the membership of a service that joined the mesh elsewhere: in another
// program or stack, or through the component package (provider/), where each service is
// constructed on its own. name and port are the member's as it joined; endpoint is its
// Endpoint (http://<host>:<port>), whose host is what callers route to in either mode
// (App Mesh: the virtual service's name). The membership declares nothing: it is only
// what a caller needs (Member.Backends).
func Remote(name string, port int, endpoint pulumi.StringInput) (*Membership, error) {
	if name == "" || port < 1 || port > 65535 || endpoint == nil {
		return nil, fmt.Errorf("remote member %q: needs a name, a TCP port and an endpoint", name)
	}
	ep := endpoint.ToStringOutput()
	ref := ep.ApplyT(func(e string) (string, error) {
		u, err := url.Parse(e)
		if err != nil || u.Scheme != "http" || u.Hostname() == "" {
			return "", fmt.Errorf("remote member %s: endpoint %q is not http://<host>:<port>", name, e)
		}
		return u.Hostname(), nil
	}).(pulumi.StringOutput)
	return &Membership{
		Name:     name,
		Port:     port,
		Endpoint: ep,
		Task:     pulumix.Val(taskspec.Part{}),
		ref:      ref,
	}, nil
}
