package stacks

import (
	"fmt"
	"regexp"
	"slices"
)

// How many connections products may open, against how many the database accepts.
//
// RDS for PostgreSQL sets max_connections by default to LEAST(DBInstanceClassMemory/9531392,
// 5000) (the default parameter group of every postgres family; AWS documents the formula under
// "Maximum number of database connections" in the RDS user guide). DBInstanceClassMemory is
// the class's memory less what RDS keeps for the OS and its own processes; the table below
// holds the nominal memory from the instance class specifications, and rdsReservedMemory takes
// a conservative share off it. Of the result, PostgreSQL keeps superuser_reserved_connections
// (3) and RDS rds.rds_superuser_reserved_connections (2) for administrators.
const (
	bytesPerConnection        = 9531392
	maxConnectionsCeiling     = 5000
	rdsReservedMemory         = 0.10
	reservedForAdministrators = 3 + 2
	// During a rolling deployment ECS runs up to twice the desired tasks
	// (deploymentMaximumPercent 200), each with a full pool and its migrate connection.
	deploymentSurge       = 2
	migrateConnsPerTask   = 1
	gibibyte              = 1 << 30
	instanceClassesSource = "db.t3/t4g (micro 1 GiB .. 2xlarge 32 GiB), db.m5/m6g/m6i/m7g/m7i (large 8 GiB .. 24xlarge 384 GiB), db.r5/r6g/r6i/r7g/r7i (twice the m sizes)"
)

// gibPerSize is the nominal memory of each size, per family kind (instance class specs).
var gibPerSize = map[string]map[string]float64{
	"t": {"micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32},
	"m": {"large": 8, "xlarge": 16, "2xlarge": 32, "4xlarge": 64, "8xlarge": 128, "12xlarge": 192, "16xlarge": 256, "24xlarge": 384},
	"r": {"large": 16, "xlarge": 32, "2xlarge": 64, "4xlarge": 128, "8xlarge": 256, "12xlarge": 384, "16xlarge": 512, "24xlarge": 768},
}

var knownFamilies = map[string][]string{
	"t": {"t3", "t4g"},
	"m": {"m5", "m6g", "m6i", "m7g", "m7i"},
	"r": {"r5", "r6g", "r6i", "r7g", "r7i"},
}

var classPattern = regexp.MustCompile(`^db\.([a-z]+)(\d+[a-z]*)\.([a-z0-9]+)$`)

// MaxConnections is the default max_connections of an RDS PostgreSQL instance class, less the
// connections reserved for administrators; false for a class not in the table.
func MaxConnections(instanceClass string) (int, bool) {
	m := classPattern.FindStringSubmatch(instanceClass)
	if m == nil {
		return 0, false
	}
	kind, family, size := m[1], m[1]+m[2], m[3]
	if !slices.Contains(knownFamilies[kind], family) {
		return 0, false
	}
	gib, ok := gibPerSize[kind][size]
	if !ok {
		return 0, false
	}
	conns := min(int(gib*gibibyte*(1-rdsReservedMemory)/bytesPerConnection), maxConnectionsCeiling)
	return conns - reservedForAdministrators, true
}

// PeakConnections is what products' tasks may hold at the height of a rolling deployment of
// desiredCount tasks (the stack passes products' maxCount: autoscaling may have reached it).
func PeakConnections(desiredCount, maxConnsPerTask int) int {
	return deploymentSurge * desiredCount * (maxConnsPerTask + migrateConnsPerTask)
}

// checkPoolFits returns a problem when products' tasks, desiredCount of them (the stack passes
// products' maxCount), could open more connections than the instance accepts, or "" when they fit.
func checkPoolFits(instanceClass string, desiredCount, maxConnsPerTask int) string {
	limit, known := MaxConnections(instanceClass)
	if !known {
		return fmt.Sprintf("%s:dbInstanceClass = %q: its max_connections is unknown, so %s:dbMaxConnsPerTask cannot be checked against it; known classes: %s",
			Namespace, instanceClass, Namespace, instanceClassesSource)
	}
	peak := PeakConnections(desiredCount, maxConnsPerTask)
	if peak <= limit {
		return ""
	}
	return fmt.Sprintf("%s:dbMaxConnsPerTask = %d with %s:productsMaxCount = %d needs up to %d connections (%d x %d tasks during a deployment x (%d pooled + %d migrate)), above the %d that %s:dbInstanceClass = %s accepts; lower one of them or choose a larger class",
		Namespace, maxConnsPerTask, Namespace, desiredCount, peak, deploymentSurge, desiredCount, maxConnsPerTask, migrateConnsPerTask,
		limit, Namespace, instanceClass)
}
