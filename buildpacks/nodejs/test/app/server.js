// Node.js buildpack fixture: answers with the result of a dependency installed offline.
const http = require("http");
const isNumber = require("is-number");

http
  .createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/plain" });
    res.end(`node says 42 is a number: ${isNumber(42)}\n`);
  })
  .listen(Number(process.env.PORT), "0.0.0.0");
