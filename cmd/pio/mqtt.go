package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/unit"
)

func mqttCommand() *cli.Command {
	return &cli.Command{
		Name:  "mqtt",
		Usage: "tail the MQTT event log",
		Description: "Prints every message on the broker that matches --topic, one line each:\n" +
			"time, topic, payload (retained messages, sent at subscription, are marked [retained]).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "topic", Aliases: []string{"t"}, Value: "pioreactor/#", Usage: "MQTT topic filter"},
		},
		Action: func(c *cli.Context) error {
			client, err := unit.DialBroker(unitOptions(c, nil), fmt.Sprintf("pio-mqtt-%d", os.Getpid()), 3*time.Second)
			if err != nil {
				return fmt.Errorf("%w (is a unit running? `pio run-script` starts an embedded broker)", err)
			}
			defer client.Close()
			lines := make(chan string, 1024)
			err = client.Subscribe(c.String("topic"), 2, func(m pubsub.Message) {
				mark := ""
				if m.Retained {
					mark = " [retained]"
				}
				payload := string(m.Payload)
				if payload == "" {
					payload = "(empty)"
				}
				lines <- fmt.Sprintf("%s  %s%s  %s", time.Now().Format("15:04:05.000"), m.Topic, mark, payload)
			})
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			for {
				select {
				case <-ctx.Done():
					return nil
				case l := <-lines:
					fmt.Fprintln(c.App.Writer, l)
				}
			}
		},
	}
}
