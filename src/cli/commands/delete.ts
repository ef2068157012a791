import { defineCommand } from "../fast-args";
import { idArg } from "../args";
import { cli } from "../context";
import { deleteContainer } from "../../runtime/delete";

export default defineCommand({
  meta: { name: "delete", description: "delete a container (kill it first with --force)" },
  args: { ...idArg, force: { type: "boolean", alias: "f", description: "kill a running container and delete it" } },
  run({ args }) {
    deleteContainer(cli.runtime, args.id, args.force);
  },
});
