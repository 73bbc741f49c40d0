package stacks

import (
	"errors"
	"fmt"
	"net/mail"
	"strconv"

	"github.com/meshtrace/meshtrace/components/alarms"
	"github.com/meshtrace/meshtrace/components/services"
)

// OperationsConfig is how the stack scales and pages: autoscaling targets and alarm
// thresholds (defaults and reasons: alarms.Defaults and services.Scaling).
type OperationsConfig struct {
	AlarmEmail               string // subscribed to the stack's alarm topic; empty: none
	Thresholds               alarms.Thresholds
	ScalingCPUPercent        float64
	ScalingRequestsPerTarget float64
}

// operationsKeys are the config keys of autoscaling and alarms, appended to keys (config.go).
var operationsKeys = []key{
	{"productsMinCount", "1", "2", "an integer from 1 to 100 (products' fewest tasks; autoscaling stays within minCount..maxCount)", func(c *Config, v string) error {
		return intRange(&c.Products.MinCount, v, 1, 100)
	}},
	{"productsMaxCount", "2", "6", "an integer from 1 to 100, at least productsMinCount and desiredCount (products' pools at this count must fit the database's max_connections)", func(c *Config, v string) error {
		return intRange(&c.Products.MaxCount, v, 1, 100)
	}},
	{"paymentsMinCount", "1", "2", "an integer from 1 to 100 (payments' fewest tasks)", func(c *Config, v string) error {
		return intRange(&c.Payments.MinCount, v, 1, 100)
	}},
	{"paymentsMaxCount", "2", "6", "an integer from 1 to 100, at least paymentsMinCount and desiredCount", func(c *Config, v string) error {
		return intRange(&c.Payments.MaxCount, v, 1, 100)
	}},
	{"scalingCpuPercent", fmt.Sprint(services.DefaultCPUPercent), fmt.Sprint(services.DefaultCPUPercent), "a number from 10 to 90: the average CPU target tracking keeps each service at", func(c *Config, v string) error {
		return numberRange(&c.Operations.ScalingCPUPercent, v, 10, 90)
	}},
	{"scalingRequestsPerTarget", fmt.Sprint(services.DefaultRequestsPerTarget), fmt.Sprint(services.DefaultRequestsPerTarget), "a number from 10 to 100000: load balancer requests per task per minute that products is kept at", func(c *Config, v string) error {
		return numberRange(&c.Operations.ScalingRequestsPerTarget, v, 10, 100000)
	}},
	{"alarmEmail", "", "", "empty (no subscription) or an e-mail address subscribed to the stack's alarm topic (AWS mails a confirmation first)", func(c *Config, v string) error {
		if v == "" {
			c.Operations.AlarmEmail = ""
			return nil
		}
		if a, err := mail.ParseAddress(v); err != nil || a.Address != v {
			return errors.New("is not a bare e-mail address")
		}
		c.Operations.AlarmEmail = v
		return nil
	}},
	{"alarm5xxPercent", fmt.Sprint(alarms.Defaults.HTTP5xxPercent), fmt.Sprint(alarms.Defaults.HTTP5xxPercent), "a number from 0.1 to 50: 5xx (load balancer, targets, Service Connect) as a % of requests", func(c *Config, v string) error {
		return numberRange(&c.Operations.Thresholds.HTTP5xxPercent, v, 0.1, 50)
	}},
	{"alarmLatencyP99Ms", fmt.Sprint(alarms.Defaults.LatencyP99Ms), fmt.Sprint(alarms.Defaults.LatencyP99Ms), "an integer from 10 to 60000: p99 target response time, ms", func(c *Config, v string) error {
		return intRange(&c.Operations.Thresholds.LatencyP99Ms, v, 10, 60000)
	}},
	{"alarmDbCpuPercent", fmt.Sprint(alarms.Defaults.DBCPUPercent), fmt.Sprint(alarms.Defaults.DBCPUPercent), "a number from 10 to 100: database CPU %", func(c *Config, v string) error {
		return numberRange(&c.Operations.Thresholds.DBCPUPercent, v, 10, 100)
	}},
	{"alarmDbFreeStoragePercent", fmt.Sprint(alarms.Defaults.DBFreeStoragePercent), fmt.Sprint(alarms.Defaults.DBFreeStoragePercent), "a number from 1 to 90: free storage as a % of dbAllocatedStorageGb", func(c *Config, v string) error {
		return numberRange(&c.Operations.Thresholds.DBFreeStoragePercent, v, 1, 90)
	}},
	{"alarmDbConnectionsPercent", fmt.Sprint(alarms.Defaults.DBConnectionsPercent), fmt.Sprint(alarms.Defaults.DBConnectionsPercent), "a number from 10 to 100: open connections as a % of the instance class's max_connections", func(c *Config, v string) error {
		return numberRange(&c.Operations.Thresholds.DBConnectionsPercent, v, 10, 100)
	}},
	{"alarmDbFreeableMemoryPercent", fmt.Sprint(alarms.Defaults.DBFreeableMemoryPercent), fmt.Sprint(alarms.Defaults.DBFreeableMemoryPercent), "a number from 1 to 90: freeable memory as a % of the instance class's memory", func(c *Config, v string) error {
		return numberRange(&c.Operations.Thresholds.DBFreeableMemoryPercent, v, 1, 90)
	}},
	{"alarmTraceFaultPercent", fmt.Sprint(alarms.Defaults.TraceFaultPercent), fmt.Sprint(alarms.Defaults.TraceFaultPercent), "a number from 0.1 to 100: traces of the stack's X-Ray group with a fault, %", func(c *Config, v string) error {
		return numberRange(&c.Operations.Thresholds.TraceFaultPercent, v, 0.1, 100)
	}},
}

func init() { keys = append(keys, operationsKeys...) }

func numberRange(dst *float64, v string, lo, hi float64) error {
	f, err := strconv.ParseFloat(v, 64)
	// Written so that NaN is refused too.
	if err != nil || !(f >= lo && f <= hi) {
		return fmt.Errorf("is not a number from %g to %g", lo, hi)
	}
	*dst = f
	return nil
}

// checkOperations returns the problems between keys: each service's desiredCount must lie
// within its minCount..maxCount.
func checkOperations(c Config) []string {
	var problems []string
	for _, s := range []struct {
		name string
		cfg  ServiceConfig
	}{{"products", c.Products}, {"payments", c.Payments}} {
		if s.cfg.MinCount == 0 || s.cfg.MaxCount == 0 || s.cfg.DesiredCount == 0 {
			continue // already reported
		}
		if s.cfg.MinCount > s.cfg.MaxCount || s.cfg.DesiredCount < s.cfg.MinCount || s.cfg.DesiredCount > s.cfg.MaxCount {
			problems = append(problems, fmt.Sprintf("%s:%sMinCount = %d, %s:desiredCount = %d and %s:%sMaxCount = %d: want minCount <= desiredCount <= maxCount",
				Namespace, s.name, s.cfg.MinCount, Namespace, s.cfg.DesiredCount, Namespace, s.name, s.cfg.MaxCount))
		}
	}
	return problems
}

// InstanceMemoryGiB is the nominal memory of an RDS instance class (the table of
// connections.go); false for a class not in it.
func InstanceMemoryGiB(instanceClass string) (float64, bool) {
	m := classPattern.FindStringSubmatch(instanceClass)
	if m == nil {
		return 0, false
	}
	gib, ok := gibPerSize[m[1]][m[3]]
	return gib, ok
}
