// The end-to-end test harness in one import: `import { startTcpserver, SmtpClient, ... } from '../harness';`
export * from './tools';
export * from './tcpserver';
export * from './smtp-client';
export * from './swaks';
export * from './exim';
export * from './dns-servers';
export * from './levee';
