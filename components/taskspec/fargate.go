package taskspec

import (
	_ "embed"
	"encoding/json"
)

// awsLimitsJSON states once the AWS limits that checks/awsapi (Python) enforces too.
//
//go:embed awslimits.json
var awsLimitsJSON []byte

type awsLimits struct {
	FargateSizes []struct {
		CPU            int   `json:"cpu"`
		Memory         []int `json:"memory"`
		From, To, Step int
	} `json:"fargateSizes"`
	LogRetentionDays []int `json:"logRetentionDays"`
}

func limits() awsLimits {
	var l awsLimits
	if err := json.Unmarshal(awsLimitsJSON, &l); err != nil {
		panic("taskspec: awslimits.json: " + err.Error()) // embedded at build time; a test parses it
	}
	return l
}

// LogRetentionDays are the retentions CloudWatch Logs accepts (PutRetentionPolicy).
func LogRetentionDays() []int { return limits().LogRetentionDays }

// FargateSizes maps each Fargate task CPU size (units) to the memory sizes (MiB) it allows.
func FargateSizes() map[int][]int {
	sizes := map[int][]int{}
	for _, s := range limits().FargateSizes {
		memory := s.Memory
		for m := s.From; s.Step > 0 && m <= s.To; m += s.Step {
			memory = append(memory, m)
		}
		sizes[s.CPU] = memory
	}
	return sizes
}
