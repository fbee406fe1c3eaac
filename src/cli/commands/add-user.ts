/** reload-node add-user: add an enrollment account to an overlay directory. */
import { addUser } from '../../../certs/overlay-admin.js';
import { UserDatabaseError } from '../../../certs/users.js';
import { type Command, UsageError, parseOptions, required } from '../command.js';

const usage = `
usage: reload-node add-user --dir DIR --user NAME --password PW

Adds an account to DIR/users.json so that NAME can enroll with PW (the password is kept
only as a salted scrypt hash). NAME is the user name certificates will carry, user@domain.
`;

export const addUserCommand: Command = {
  name: 'add-user',
  summary: 'add an enrollment account (user name and password) to an overlay',
  usage,
  async run(argv, io) {
    const { values } = parseOptions(argv, {
      dir: { type: 'string' },
      user: { type: 'string' },
      password: { type: 'string' },
    });
    const dir = required(values, 'dir');
    const user = required(values, 'user');
    const password = required(values, 'password');
    try {
      await addUser(dir, user, password);
    } catch (err) {
      if (err instanceof UserDatabaseError && (err.reason === 'bad_user_name' || err.reason === 'bad_password')) {
        throw new UsageError(err.message);
      }
      throw err;
    }
    io.stdout.write(`user ${user} added to ${dir}\n`);
    return 0;
  },
};
