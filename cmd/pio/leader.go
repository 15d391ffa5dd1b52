package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/piolab/pio/leader"
	"github.com/piolab/pio/unit"
)

func leaderCommand() *cli.Command {
	return &cli.Command{
		Name:  "leader",
		Usage: "run this machine as the lab's leader: MQTT broker, database and HTTP API",
		Description: "Starts the embedded MQTT broker on [mqtt] broker_port (or connects to an external\n" +
			"broker given by --external-broker or --broker), stores what the units publish in SQLite\n" +
			"([cluster.leader] database, default <home>/pio.sqlite) and serves the HTTP API on\n" +
			"[cluster.leader] api_listen (default :[ui] port). Runs until Ctrl-C. To make the\n" +
			"leader a unit too, run `pio daemon` on the same machine. See docs/leader-api.md.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "external-broker", Usage: "host:port of an external MQTT broker (Mosquitto) to use instead of the embedded one"},
			&cli.StringFlag{Name: "listen", Usage: "address the API listens on (default: [cluster.leader] api_listen, else :[ui] port)"},
		},
		Action: func(c *cli.Context) error {
			uo := unitOptions(c, nil)
			cfg, err := unit.LoadConfig(uo)
			if err != nil {
				return err
			}
			o, err := cfg.Options()
			if err != nil {
				return err
			}
			name, _ := unit.Identity(o, uo)
			broker := c.String("external-broker")
			if broker == "" {
				broker = uo.Broker // the global --broker names an external broker too
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return leader.Run(ctx, leader.Options{
				Config: o, Home: unit.Home(uo.Home), Unit: name,
				Broker: broker, Listen: c.String("listen"), Log: consoleLogger(c),
				Ready: func(api, broker string) {
					fmt.Fprintf(c.App.Writer, "pio leader: API %s, MQTT broker %s (Ctrl-C stops)\n", api, broker)
				},
			})
		},
	}
}
