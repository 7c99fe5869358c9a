/**
 * `marketing-sample-contacts`: a Node-RED plugin, not a node. Node-RED runs it once when it
 * loads the package, the place for what concerns the package as a whole rather than one node:
 * here, pointing example 01's environment variables at the shipped sample list
 * (`offerSampleContacts`), at the folder for the copy held for review (`offerReviewFolder`), and
 * example 05's at the folder it watches for bounce messages (`offerBounceFolder`).
 */
import type { NodeAPI } from 'node-red';
import { offerBounceFolder, offerReviewFolder, offerSampleContacts } from './common';

interface PluginAPI {
  plugins: { registerPlugin(id: string, definition: { type: string }): void };
}

export = function (RED: NodeAPI) {
  offerSampleContacts();
  offerReviewFolder(RED);
  offerBounceFolder(RED);
  (RED as unknown as PluginAPI).plugins.registerPlugin('marketing-sample-contacts', { type: 'marketing-sample-contacts' });
};
