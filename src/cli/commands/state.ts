import { defineCommand } from "../fast-args";
import { out } from "../output";
import { idArg } from "../args";
import { cli } from "../context";
import { loadContainer } from "../../runtime/state";

export default defineCommand({
  meta: { name: "state", description: "print the state of a container as JSON" },
  args: { ...idArg },
  run({ args }) {
    out(JSON.stringify(loadContainer(cli.globals.root, args.id).view(), null, 2) + "\n");
  },
});
