package taskspec

import (
	_ "embed"
	"encoding/json"
)

// fargateSizesJSON is the one table of Fargate task sizes, shared with checks/awsapi (Python).
//
//go:embed fargate.json
var fargateSizesJSON []byte

// FargateSizes maps each Fargate task CPU size (units) to the memory sizes (MiB) it allows.
func FargateSizes() map[int][]int {
	var table struct {
		Sizes []struct {
			CPU            int   `json:"cpu"`
			Memory         []int `json:"memory"`
			From, To, Step int
		} `json:"sizes"`
	}
	if err := json.Unmarshal(fargateSizesJSON, &table); err != nil {
		panic("taskspec: fargate.json: " + err.Error()) // embedded at build time; a test parses it
	}
	sizes := map[int][]int{}
	for _, s := range table.Sizes {
		memory := s.Memory
		for m := s.From; s.Step > 0 && m <= s.To; m += s.Step {
			memory = append(memory, m)
		}
		sizes[s.CPU] = memory
	}
	return sizes
}
