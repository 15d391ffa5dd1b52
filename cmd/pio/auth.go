package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/urfave/cli/v2"

	"github.com/piolab/pio/auth"
)

// authCommand helps an operator write the cluster's security files
// (docs/cluster-security.md).
func authCommand() *cli.Command {
	return &cli.Command{
		Name:  "auth",
		Usage: "make API tokens, broker passwords and Mosquitto files for the cluster",
		Description: "The leader reads [cluster.security] api_tokens_file (\"name token\" lines) and\n" +
			"broker_users_file (\"name password-sha256 role\" lines); see docs/cluster-security.md.",
		HideHelpCommand: true,
		Subcommands: []*cli.Command{
			{
				Name:  "new-token",
				Usage: "print a new random token (64 hex digits), for an API token or a broker password",
				Action: func(c *cli.Context) error {
					if c.NArg() > 0 {
						return fmt.Errorf("pio auth new-token takes no argument, got %q", c.Args().First())
					}
					fmt.Fprintln(c.App.Writer, auth.NewToken())
					return nil
				},
			},
			{
				Name:  "hash-password",
				Usage: "read a password on stdin, print its hash for a broker_users_file line",
				Description: "Reads one line (the password) from standard input, so that it stays out of\n" +
					"the shell's history, and prints its SHA-256 in hex. Example:\n\n" +
					"  pw=$(pio auth new-token)\n" +
					"  echo \"worker1 $(echo \"$pw\" | pio auth hash-password) unit\" >> users.txt",
				Action: func(c *cli.Context) error {
					if c.NArg() > 0 {
						return fmt.Errorf("pio auth hash-password reads the password from stdin, not from its arguments (got %d)", c.NArg())
					}
					pw, err := readSecret(c.App.Reader)
					if err != nil {
						return err
					}
					fmt.Fprintln(c.App.Writer, auth.HashPassword(pw))
					return nil
				},
			},
			{
				Name:      "mosquitto-passwd",
				Usage:     "read a password on stdin, print NAME's line of a Mosquitto 2 password_file",
				ArgsUsage: "NAME",
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return fmt.Errorf("pio auth mosquitto-passwd takes one user name, got %d arguments", c.NArg())
					}
					pw, err := readSecret(c.App.Reader)
					if err != nil {
						return err
					}
					line, err := auth.MosquittoPasswd(c.Args().First(), pw)
					if err != nil {
						return err
					}
					fmt.Fprintln(c.App.Writer, line)
					return nil
				},
			},
			{
				Name:      "mosquitto-acl",
				Usage:     "print the Mosquitto acl_file for the users of a broker_users_file",
				ArgsUsage: "USERS_FILE",
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return fmt.Errorf("pio auth mosquitto-acl takes one users file, got %d arguments", c.NArg())
					}
					users, err := auth.LoadUsers(c.Args().First())
					if err != nil {
						return err
					}
					fmt.Fprint(c.App.Writer, auth.MosquittoACL(users))
					return nil
				},
			},
		},
	}
}

// minPassword is the shortest password pio auth accepts: the users file's
// hash is unsalted, so a password must be too long to guess.
const minPassword = 16

// readSecret reads the first line of r (stdin when r is nil).
func readSecret(r io.Reader) (string, error) {
	if r == nil {
		r = os.Stdin
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("read the password from stdin: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if n := utf8.RuneCountInString(pw); n < minPassword {
		return "", fmt.Errorf("the password on stdin has %d characters; at least %d are needed (pio auth new-token makes one)", n, minPassword)
	}
	return pw, nil
}
