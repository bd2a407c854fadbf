// amazon-cognito-identity-js (Amplify's SRP client) signs in, resets its password and signs in
// again against a real userpool server. The server binary comes from USERPOOL_BIN.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { AuthenticationDetails, CognitoUser, CognitoUserPool } from 'amazon-cognito-identity-js';

const binary = process.env.USERPOOL_BIN ?? new URL('../../target/debug/userpool', import.meta.url).pathname;

async function startServer() {
  const dir = mkdtempSync(join(tmpdir(), 'userpool-js-'));
  const child = spawn(binary, ['serve', '--bind', '127.0.0.1:0', '--data-dir', dir, '--hash-profile', 'test'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`userpool exited with ${code}`)));
  });
  return { child, url: first.trim().split(' ').pop() };
}

const server = await startServer();
after(() => server.child.kill('SIGTERM'));

// IAM operations want a well-formed SigV4 header in local mode; its signature is not checked.
const AUTH = 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/cognito-idp/aws4_request, '
  + 'SignedHeaders=host;x-amz-date, Signature=' + '0'.repeat(64);

async function call(operation, body) {
  const response = await fetch(server.url, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-amz-json-1.1',
      'X-Amz-Target': `AWSCognitoIdentityProviderService.${operation}`,
      Authorization: AUTH,
    },
    body: JSON.stringify(body),
  });
  const json = await response.json();
  assert.equal(response.status, 200, `${operation}: ${JSON.stringify(json)}`);
  return json;
}

async function lastCode(poolId, username) {
  const response = await fetch(`${server.url}/_userpool/messages?userPoolId=${poolId}&username=${username}`);
  const { Messages } = await response.json();
  return Messages.at(-1).Code;
}

async function setup() {
  const { UserPool } = await call('CreateUserPool', { PoolName: 'js' });
  const { UserPoolClient } = await call('CreateUserPoolClient', { UserPoolId: UserPool.Id, ClientName: 'web' });
  await call('AdminCreateUser', {
    UserPoolId: UserPool.Id, Username: 'jo', MessageAction: 'SUPPRESS',
    UserAttributes: [{ Name: 'email', Value: 'jo@example.com' }, { Name: 'email_verified', Value: 'true' }],
  });
  await call('AdminSetUserPassword', { UserPoolId: UserPool.Id, Username: 'jo', Password: 'Passw0rd!', Permanent: true });
  const pool = new CognitoUserPool({ UserPoolId: UserPool.Id, ClientId: UserPoolClient.ClientId, endpoint: server.url });
  return { poolId: UserPool.Id, pool };
}

function signIn(pool, username, password) {
  const user = new CognitoUser({ Username: username, Pool: pool });
  return new Promise((resolve, reject) => {
    user.authenticateUser(new AuthenticationDetails({ Username: username, Password: password }), {
      onSuccess: resolve,
      onFailure: reject,
    });
  });
}

test('SRP sign-in with the right password, refused with a wrong one', async () => {
  const { pool } = await setup();
  const session = await signIn(pool, 'jo', 'Passw0rd!');
  assert.ok(session.isValid());
  assert.equal(session.getIdToken().decodePayload()['cognito:username'], 'jo');
  assert.equal(session.getAccessToken().decodePayload().token_use, 'access');
  await assert.rejects(signIn(pool, 'jo', 'Wrong-Passw0rd!'), (e) => e.code === 'NotAuthorizedException'
    && e.message === 'Incorrect username or password.');
});

test('after ConfirmForgotPassword, SRP works with the new password and not the old one', async () => {
  const { poolId, pool } = await setup();
  const user = new CognitoUser({ Username: 'jo', Pool: pool });
  const delivery = await new Promise((resolve, reject) => {
    user.forgotPassword({ onSuccess: resolve, onFailure: reject, inputVerificationCode: resolve });
  });
  assert.equal(delivery.CodeDeliveryDetails.Destination, 'j***@e***');
  const code = await lastCode(poolId, 'jo');
  await new Promise((resolve, reject) => {
    user.confirmPassword(code, 'N3w-Passw0rd!', { onSuccess: resolve, onFailure: reject });
  });
  await assert.rejects(signIn(pool, 'jo', 'Passw0rd!'), (e) => e.code === 'NotAuthorizedException');
  const session = await signIn(pool, 'jo', 'N3w-Passw0rd!');
  assert.ok(session.isValid());
});

test('refreshSession gets new tokens; after a global sign-out the refresh token is refused', async () => {
  const { pool } = await setup();
  const session = await signIn(pool, 'jo', 'Passw0rd!');
  const user = pool.getCurrentUser();
  assert.equal(user.getUsername(), 'jo');
  const refresh = (token) => new Promise((resolve, reject) => {
    user.refreshSession(token, (err, result) => (err ? reject(err) : resolve(result)));
  });
  const renewed = await refresh(session.getRefreshToken());
  assert.notEqual(renewed.getAccessToken().getJwtToken(), session.getAccessToken().getJwtToken());
  assert.equal(renewed.getIdToken().decodePayload().auth_time, session.getIdToken().decodePayload().auth_time);
  await new Promise((resolve, reject) => user.globalSignOut({ onSuccess: resolve, onFailure: reject }));
  // The library retries a failed refresh with backoff for about 5 s before it gives up.
  await assert.rejects(refresh(session.getRefreshToken()), (e) => e.code === 'NotAuthorizedException'
    && e.message === 'Refresh Token has been revoked');
});
