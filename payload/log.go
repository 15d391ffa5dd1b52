package payload

// LogRecord is the payload on pioreactor/<unit>/<experiment>/logs/<source>/<level>.
type LogRecord struct {
	Message   string `json:"message"`
	Level     string `json:"level"`
	Task      string `json:"task"`
	Source    string `json:"source"`
	Timestamp string `json:"timestamp"`
}

// AppendJSON encodes the record with upstream's keys, in upstream's order.
func (r LogRecord) AppendJSON(b []byte) []byte {
	b = append(b, `{"message":`...)
	b = AppendJSONString(b, r.Message)
	b = append(b, `,"level":`...)
	b = AppendJSONString(b, r.Level)
	b = append(b, `,"task":`...)
	b = AppendJSONString(b, r.Task)
	b = append(b, `,"source":`...)
	b = AppendJSONString(b, r.Source)
	b = append(b, `,"timestamp":`...)
	b = AppendJSONString(b, r.Timestamp)
	return append(b, '}')
}
