package script

import "github.com/piolab/pio/config"

// ConfigValue reads a key for config_get: the files' value, else pio's
// default, and whether there is one. Hosts of every family share it.
func ConfigValue(c *config.Config, section, key string) (string, bool) {
	if c == nil {
		return "", false
	}
	sec := c.Section(section)
	if !sec.Has(key) {
		return "", false
	}
	return sec.String(key), true
}
