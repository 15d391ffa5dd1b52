package mqtttest

// LeaderQueueConf is the configuration that keeps Mosquitto from dropping
// QoS 1 messages for a subscriber that falls behind (the leader's database
// stream): no limit on the messages queued for a client (the default, 1000,
// drops the rest silently) and a window of 1000 messages in flight to it
// (the default, 20, makes the subscriber wait for the broker). Pass it as
// MosquittoConfig.Extra.
const LeaderQueueConf = "max_queued_messages 0\nmax_inflight_messages 1000\n"
