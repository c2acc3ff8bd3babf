export { composeSupergraph, writeSupergraph, SUPERGRAPH_PATH, DEFAULT_PORTS } from './compose.js';
