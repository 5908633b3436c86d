// Node socket.io with the Redis adapter: the peer a JavaScript team would pick.
// Rooms are channels; the adapter shares every broadcast with the other
// processes through Redis pub/sub. One process, like the hub.
//
// Run: PORT=8000 BENCH_REDIS_URL=redis://127.0.0.1:6390/0 node server.js

"use strict";

const http = require("node:http");
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");

async function main() {
  const port = Number(process.env.PORT || 8000);
  const pub = createClient({ url: process.env.BENCH_REDIS_URL });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);

  const server = http.createServer((request, response) => {
    response.writeHead(request.url === "/healthz" ? 200 : 404);
    response.end();
  });
  const io = new Server(server, {
    transports: ["websocket"],
    adapter: createAdapter(pub, sub, { key: "bench-socketio-node" }),
  });

  io.on("connection", (socket) => {
    socket.on("subscribe", (channel, ack) => {
      socket.join(channel);
      if (typeof ack === "function") ack({ channel });
    });
    socket.on("unsubscribe", (channel, ack) => {
      socket.leave(channel);
      if (typeof ack === "function") ack({ channel });
    });
    socket.on("location", (message) => {
      const channel = message.channel;
      io.to(channel).emit("event", { channel, kind: "location", data: message.data });
    });
  });

  server.listen(port, "127.0.0.1");
  const stop = () => {
    io.close();
    Promise.allSettled([pub.quit(), sub.quit()]).then(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
