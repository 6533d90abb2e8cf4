export * from "./block-device";
