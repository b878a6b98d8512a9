// Package e2e holds the lab's end-to-end tests: they build the images, bring
// the compose stack up under a project name of their own, and check the
// contract's behaviour across real containers (rate limit per container IP,
// per-client connection cap, the compare profile's speedup, graceful stop), and
// that the requester containers reach the host as host.docker.internal on Linux:
// a plain server on the host, and a second lab (a friend's machine, simulated)
// through its published port; that the README's quick start builds both images
// with one command, so the first requester run prints only its JSON on stdout
// (with every compose here); and that the dashboard on the published admin port
// shows a requester container held to the rate limit while it runs.
//
// They need a Docker engine and a compose (`docker compose` v2, or
// `docker-compose` 1.29; E2E_COMPOSE chooses, e.g. E2E_COMPOSE=docker-compose).
// Without an engine, or with -short, they skip with a message.
//
//	go test -race ./e2e/...              from the repository root
package e2e
