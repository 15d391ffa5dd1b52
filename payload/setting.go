package payload

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Datatypes of published settings, as upstream names them.
const (
	TypeString  = "string"
	TypeFloat   = "float"
	TypeInteger = "integer"
	TypeBoolean = "boolean"
	// TypeNumber is any finite number: integral text ("3") casts to an
	// int64, anything else that parses ("0.5", "1e3") to a float64.
	TypeNumber = "number"
	TypeJSON   = "json"
	// TypeAutomationEvent is latest_event's datatype: an Event as JSON.
	TypeAutomationEvent = "AutomationEvent"
)

// KnownDatatype reports whether a setting may be declared with datatype d.
func KnownDatatype(d string) bool {
	switch d {
	case TypeString, TypeFloat, TypeInteger, TypeNumber, TypeBoolean, TypeJSON, TypeAutomationEvent:
		return true
	}
	return false
}

// CastPayload turns a /set payload into a value of the setting's datatype.
// Unlike upstream, a malformed boolean is an error rather than false, and
// NaN and infinities are refused for numbers.
func CastPayload(datatype, payload string) (any, error) {
	p := strings.TrimSpace(payload)
	switch datatype {
	case TypeString:
		return payload, nil
	case TypeFloat:
		f, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return nil, fmt.Errorf("want a number, got %q", payload)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("want a finite number, got %q", payload)
		}
		return f, nil
	case TypeInteger:
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("want an integer, got %q", payload)
		}
		return n, nil
	case TypeNumber:
		if n, err := strconv.ParseInt(p, 10, 64); err == nil {
			return n, nil
		}
		return CastPayload(TypeFloat, payload)
	case TypeBoolean:
		switch strings.ToLower(p) {
		case "true", "1", "y", "on", "yes", "t":
			return true, nil
		case "false", "0", "n", "off", "no", "f":
			return false, nil
		}
		return nil, fmt.Errorf("want a boolean (true/false, 1/0, on/off, yes/no), got %q", payload)
	case TypeJSON:
		var v any
		if err := json.Unmarshal([]byte(p), &v); err != nil {
			return nil, fmt.Errorf("want JSON, got %q", payload)
		}
		return v, nil
	}
	return nil, errors.New("this setting cannot be set")
}
