import { defineCommand } from "../fast-args";
import { idArg } from "../args";
import { cli } from "../context";
import { startContainer } from "../../runtime/start";

export default defineCommand({
  meta: { name: "start", description: "run the user's program in a created container" },
  args: { ...idArg },
  run({ args }) {
    // runc's sd_notify: with NOTIFY_SOCKET, start waits for the program's READY= (notify-socket.ts)
    startContainer(cli.runtime, args.id, process.env.NOTIFY_SOCKET || undefined);
  },
});
