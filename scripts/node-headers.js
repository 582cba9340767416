// The directory holding the running Node's headers (include/node/node_api.h), so native builds never download
// them: npm's configured nodedir, else the prefix of this Node binary. Undefined when neither has them.
'use strict';
const fs = require('fs');
const path = require('path');

function nodeHeadersDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

module.exports = { nodeHeadersDir };
