package stacks

import (
	"fmt"
	"time"

	"github.com/meshtrace/meshtrace/components/xray"
)

// now is the clock the config check dates the tracing mode's end of support by; tests set it
// to either side of the date.
var now = time.Now

const dateLayout = "2006-01-02"

// tracingNotice is the warning a stack prints when its tracing mode has an end-of-support
// date (xray-daemon: the X-Ray daemon and SDKs), before and after that date; "" for a
// supported mode.
func tracingNotice(c Config, today time.Time) string {
	end, ok := xray.EndOfSupport(c.TracingMode)
	if !ok {
		return ""
	}
	head := fmt.Sprintf("%s:tracingMode = %q: the X-Ray daemon and SDKs are in maintenance since %s (critical security fixes only)",
		Namespace, c.TracingMode, xray.DaemonMaintenanceSince.Format(dateLayout))
	if today.Before(end) {
		days := int(end.Sub(today.UTC().Truncate(24*time.Hour)).Hours() / 24) // whole days from today's date
		unit := "days"
		if days == 1 {
			unit = "day"
		}
		return fmt.Sprintf("%s and reach end of support on %s, in %d %s; from then on this config is refused unless "+
			"%s:allowXRayEndOfSupport is true. %s", head, end.Format(dateLayout), days, unit, Namespace, switchAdvice())
	}
	return fmt.Sprintf("%s and reached end of support on %s: no more releases, security fixes included "+
		"(acknowledged by %s:allowXRayEndOfSupport). %s", head, end.Format(dateLayout), Namespace, switchAdvice())
}

// tracingModeProblem refuses, from the end-of-support date on, a tracing mode past it unless
// the config acknowledges that (allowXRayEndOfSupport), as meshMode appmesh is refused; ""
// when the config may run.
func tracingModeProblem(c Config, today time.Time) string {
	end, ok := xray.EndOfSupport(c.TracingMode)
	if !ok || today.Before(end) || c.AllowXRayEndOfSupport {
		return ""
	}
	return fmt.Sprintf("%s:tracingMode = %q: the X-Ray daemon and SDKs reached end of support on %s and get no more "+
		"releases, security fixes included. %s Or, to keep the unsupported tracer, set %s:allowXRayEndOfSupport: true",
		Namespace, c.TracingMode, end.Format(dateLayout), switchAdvice(), Namespace)
}

func switchAdvice() string {
	return fmt.Sprintf("Switch to %q (OpenTelemetry with the ADOT collector, the default: remove %s:tracingMode or set it "+
		"to %q; docs/tracing.md says what the next `pulumi up` changes).", TracingADOT, Namespace, TracingADOT)
}
