package cluster

import (
	"encoding/json"
	"fmt"
)

// AssignmentTopic is the retained topic where the leader says which
// experiment a unit is assigned to (upstream's payload, below); an empty
// retained message means the unit is assigned to none.
func AssignmentTopic(unit string) string {
	return "pioreactor/" + unit + "/$experiment/assignment"
}

// Assignment is the payload of AssignmentTopic.
type Assignment struct {
	Unit       string `json:"pioreactor_unit"`
	Experiment string `json:"experiment"`
	AssignedAt string `json:"assigned_at"`
	UpdatedAt  string `json:"updated_at"`
}

// ParseAssignment reads an assignment for unit; an empty payload is no
// assignment (experiment "").
func ParseAssignment(unit string, payload []byte) (experiment string, err error) {
	if len(payload) == 0 {
		return "", nil
	}
	var a Assignment
	if err := json.Unmarshal(payload, &a); err != nil {
		return "", fmt.Errorf("assignment of %s: %w", unit, err)
	}
	if a.Unit != unit {
		return "", fmt.Errorf("assignment of %s names unit %q", unit, a.Unit)
	}
	if a.Experiment == "" {
		return "", fmt.Errorf("assignment of %s names no experiment", unit)
	}
	return a.Experiment, nil
}
